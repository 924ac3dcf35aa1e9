#!/usr/bin/env bash
# Runs one libFuzzer target from its committed seed corpus, bounded.
#   run.sh TARGET SEED_DIR WORK_DIR SECONDS    fuzz for SECONDS, random seed (make fuzz)
#   run.sh TARGET SEED_DIR WORK_DIR runs:N     N inputs with a fixed seed, from the seeds only:
#                                              the same inputs on every machine (make test)
# New inputs go to WORK_DIR (not the committed seeds); a finding leaves crash-* there and
# fails the run. Every finding becomes a regression test: add the input to SEED_DIR.
set -u
target="$1" seeds="$2" work="$3" bound="$4"
mkdir -p "$work/corpus"
if [[ "$bound" == runs:* ]]; then
  rm -rf "$work/corpus"; mkdir -p "$work/corpus"   # reproducible: start from the seeds alone
  limit=(-runs="${bound#runs:}" -seed=1); what="${bound#runs:} inputs (seed 1)"
else
  limit=(-max_total_time="$bound"); what="${bound}s"
fi
# The seeds are replayed first (regressions), then the fuzzer explores from them.
"$target" -runs=0 "$seeds" > "$work/replay.log" 2>&1 || { tail -30 "$work/replay.log"; echo "FAIL: a seed input fails"; exit 1; }
"$target" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work/corpus" "$seeds" > "$work/fuzz.log" 2>&1
rc=$?
grep -E "stat::number_of_executed_units|cov:" "$work/fuzz.log" | tail -2
if [ $rc -ne 0 ]; then
  tail -40 "$work/fuzz.log"
  echo "FAIL: $(basename "$target") found an input that crashes, hangs or throws an internal error (see $work)"
  exit 1
fi
echo "ok: $(basename "$target") ran $what without a finding"
