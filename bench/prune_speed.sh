#!/usr/bin/env bash
# Claim (b) at a glance: wall time of `prune` (diff) over the unpruned `train` of the same
# model, seed, epochs, data and threads, with channel padding on (--pad-channels 8, the
# default) and off (--pad-channels 1). One run each, in one sitting (ratios, not absolute
# times, are what this machine measures reliably); the per-epoch time breakdown of each prune
# run is in its report.json. Writes bench/results/prune_speed.md.
# Usage: bench/prune_speed.sh [build dir]   (env: EPOCHS, LIMIT, THREADS, SEED)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
M="$(readlink -f "$BUILD/mcuprune")"
PY=/usr/bin/python3
EPOCHS="${EPOCHS:-3}"
LIMIT="${LIMIT:-6000}"
THREADS="${THREADS:-$(nproc)}"
SEED="${SEED:-1}"
[ -x "$M" ] || { echo "bench: $M not built; run 'make' first" >&2; exit 1; }
source bench/lib.sh  # level_budget
W=bench/work/prune_speed
rm -rf "$W"; mkdir -p "$W" bench/results
C=(--dataset fashion-mnist --epochs "$EPOCHS" --limit-train "$LIMIT" --limit-test 2000 --val-fraction 0.02
   --threads "$THREADS" --seed "$SEED" --quiet)
wall() { local s e; s=$(date +%s.%N); "$@" > /dev/null 2>&1; e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN {printf "%.2f", e - s}'; }
acc() { $PY -c "import json; print('%.4f' % json.load(open('$1/report.json'))['accuracy']['test'])"; }
rows=()
for spec in "vgg flash4" "resnet8 ram4"; do
  set -- $spec; model=$1; level=$2
  read -r -a budget <<< "$(level_budget "$model" "$level")"
  t=$(wall "$M" train --model "$model" "${C[@]}" --out "$W/$model-train")
  p8=$(wall "$M" prune --model "$model" "${C[@]}" "${budget[@]}" --pad-channels 8 --out "$W/$model-pad8")
  p1=$(wall "$M" prune --model "$model" "${C[@]}" "${budget[@]}" --pad-channels 1 --out "$W/$model-pad1")
  r8=$(awk -v a="$p8" -v b="$t" 'BEGIN {printf "%.2f", a / b}'); r1=$(awk -v a="$p1" -v b="$t" 'BEGIN {printf "%.2f", a / b}')
  echo "$model $level: train ${t}s, prune padded ${p8}s (${r8}x), exact widths ${p1}s (${r1}x)" >&2
  rows+=("| $model | $level | $t | $p8 | $r8 | $p1 | $r1 | $(acc "$W/$model-train") | $(acc "$W/$model-pad8") | $(acc "$W/$model-pad1") |")
done
{
  echo "# Claim (b): prune wall time over the unpruned training"
  echo
  echo "Fashion-MNIST, $LIMIT training samples, $EPOCHS epochs, seed $SEED, $THREADS threads, one run each, $(date -u +%Y-%m-%d)."
  echo "Command: bench/prune_speed.sh. Padded: --pad-channels 8 (the default); exact: --pad-channels 1."
  echo "Accuracy: test accuracy of each run (the two prune runs differ only by float rounding, which can change which channels go)."
  echo
  echo "| model | level | train s | prune padded s | ratio | prune exact s | ratio | train acc | padded acc | exact acc |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} > bench/results/prune_speed.md
echo "wrote bench/results/prune_speed.md" >&2
