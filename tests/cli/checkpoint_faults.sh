#!/usr/bin/env bash
# Fault injection: `prune` is killed (SIGKILL, by strace's syscall injection) at every file
# rename it makes, i.e. at every step of writing its checkpoints and outputs. After each kill,
# `prune --resume` (when a checkpoint manifest is in place) or a fresh start in the same
# --out must finish the run, and no temporary file may be left behind.
source "$(dirname "$0")/lib.bash"
M="$MCUPRUNE"
command -v strace > /dev/null || { fail "strace is not installed (scripts/install-deps.sh installs it)"; finish; }
ARGS=(--model tinycnn --dataset fashion-mnist --limit-train 100 --limit-test 50 --epochs 2 --warmup-epochs 0
      --batch-size 32 --threads 1 --quiet --flash 6KiB)
TRACE=(-f -qq -e trace=rename,renameat,renameat2)
strace "${TRACE[@]}" -o "$WORK/trace" "$M" prune "${ARGS[@]}" --out "$WORK/ref" > "$WORK/ref.out" 2>&1 \
  || { fail "the reference run failed: $(tail -3 "$WORK/ref.out")"; finish; }
n=$(grep -c 'rename' "$WORK/trace")
[ "$n" -ge 10 ] && pass "a run renames $n files (2 checkpoints and the outputs)" || fail "only $n renames traced"
for k in $(seq 1 "$n"); do
  out="$WORK/k$k"
  strace "${TRACE[@]}" -o /dev/null -e inject=rename,renameat,renameat2:signal=KILL:when=$k \
    "$M" prune "${ARGS[@]}" --out "$out" > "$WORK/kill.out" 2>&1
  if [ -f "$out/checkpoint/prune_state.json" ]; then how=resume; cmd=("$M" prune --resume "$out" --quiet)
  else how=restart; cmd=("$M" prune "${ARGS[@]}" --out "$out" --force); fi
  if ! "${cmd[@]}" > "$WORK/after.out" 2>&1; then
    fail "killed at rename $k, the $how failed: $(tail -2 "$WORK/after.out")"; continue
  fi
  left=$(find "$out" -name '*.tmp*' | wc -l)
  hist=$(json_get "$out/report.json" '["history"].__len__()' 2>/dev/null || echo "?")
  if [ ! -f "$out/model.json" ] || [ "$left" -ne 0 ] || [ "$hist" != 2 ]; then
    fail "killed at rename $k, the $how left: model.json $( [ -f "$out/model.json" ] && echo present || echo missing), $left temporary files, $hist epochs of history"
  else
    pass "killed at rename $k: the $how finished the run"
  fi
done
finish
