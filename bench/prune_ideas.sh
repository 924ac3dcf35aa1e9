#!/usr/bin/env bash
# Accuracy at 4x (issue: the method's third round): each idea against the plain diff run,
# at the two levels where diff lost most (resnet8 and vgg at 1/4 of their RAM) and at 1/4 of
# resnet8's flash. Ideas: --distill 0.5 (from the network at the end of the warm-up),
# --lr-rewarm, --salience-decay 0.99 (a longer salience window), and a longer, more
# gradual pruning phase (--alpha-lr at half its automatic value with no fine-tuning epoch
# reserved: pruning may run to the end). Each variant runs with SEEDS seeds; the table gives
# the mean and the spread of the test accuracy, and the wall time over the plain run's.
# Writes bench/results/prune_ideas.md. Runs that finished (bench/work/prune_ideas/*/report.json)
# are reused; delete that folder to measure afresh.
# Usage: bench/prune_ideas.sh [build dir]   (env: EPOCHS, LIMIT, SEEDS, THREADS)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BUILD="${1:-build}"
M="$(readlink -f "$BUILD/mcuprune")"
PY=/usr/bin/python3
EPOCHS="${EPOCHS:-3}"
LIMIT="${LIMIT:-12000}"
SEEDS="${SEEDS:-2}"
THREADS="${THREADS:-$(nproc)}"
[ -x "$M" ] || { echo "bench: $M not built; run 'make' first" >&2; exit 1; }
W=bench/work/prune_ideas
mkdir -p "$W" bench/results  # finished runs (a report.json) are reused: rerun to continue
run() { local out="${@: -1}"; [ -f "$out/report.json" ] || { rm -rf "$out"; "$M" "$@"; }; }
C=(--dataset fashion-mnist --epochs "$EPOCHS" --limit-train "$LIMIT" --limit-test 2000 --val-fraction 0.02
   --threads "$THREADS" --quiet)
acc() { $PY -c "import json; print(json.load(open('$1/report.json'))['accuracy']['test'])"; }
secs() { $PY -c "import json; print(json.load(open('$1/report.json'))['wall_time_s'])"; }
stats() { $PY -c "
import statistics, sys
v = [100 * float(x) for x in sys.argv[1:]]
print('%.2f | %s' % (statistics.mean(v), ' / '.join('%.1f' % x for x in v)))" "$@"; }
# Each idea against the plain run: re-warming (now the default) off everywhere but in its own row.
declare -A IDEA=(
  [plain]="--no-lr-rewarm"
  [distill]="--no-lr-rewarm --distill 0.5"
  [rewarm]="--lr-rewarm"
  [salience-window]="--no-lr-rewarm --salience-decay 0.99"
  [gradual]="--no-lr-rewarm --finetune-epochs 0"
)
ORDER=(plain distill rewarm salience-window gradual)
rows=()
for spec in "resnet8 ram4" "vgg ram4" "resnet8 flash4"; do
  set -- $spec; model=$1; level=$2
  read -r -a budget <<< "$(level_budget "$model" "$level")"
  accs=()
  for seed in $(seq 1 "$SEEDS"); do
    run train --model "$model" "${C[@]}" --seed "$seed" --out "$W/$model-unpruned-s$seed"
    accs+=("$(acc "$W/$model-unpruned-s$seed")")
  done
  rows+=("| $model | $level | unpruned | $(stats "${accs[@]}") | - |")
  base_s=""
  for idea in "${ORDER[@]}"; do
    accs=(); walls=()
    for seed in $(seq 1 "$SEEDS"); do
      out="$W/$model-$level-$idea-s$seed"
      run prune --model "$model" "${C[@]}" --seed "$seed" "${budget[@]}" ${IDEA[$idea]} --out "$out"
      accs+=("$(acc "$out")"); walls+=("$(secs "$out")")
    done
    s=$(printf '%s\n' "${walls[@]}" | median)
    [ -n "$base_s" ] || base_s="$s"
    ratio=$(awk -v a="$s" -v b="$base_s" 'BEGIN {printf "%.2f", a / b}')
    echo "$model $level $idea: $(stats "${accs[@]}"), wall ${ratio}x the plain run" >&2
    rows+=("| $model | $level | $idea \`${IDEA[$idea]}\` | $(stats "${accs[@]}") | $ratio |")
  done
done
{
  echo "# Accuracy at 4x: each idea against the plain diff run"
  echo
  echo "Fashion-MNIST, $LIMIT training samples, first 2000 test samples, $EPOCHS epochs, seeds 1..$SEEDS, $THREADS threads, $(date -u +%Y-%m-%d)."
  echo "Command: bench/prune_ideas.sh. Test accuracy in %: the mean over the seeds, then each seed's. Wall: the median"
  echo "prune wall time over the plain diff run's (same model and level). Plain: diff without"
  echo "re-warming, as the default was when this was measured; each idea alone on top of it."
  echo
  echo "| model | level | run | mean acc % | per seed | wall vs plain |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} > bench/results/prune_ideas.md
echo "wrote bench/results/prune_ideas.md" >&2
