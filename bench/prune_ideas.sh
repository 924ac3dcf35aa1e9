#!/usr/bin/env bash
# Accuracy at 4x (issue: the method's third round): each idea against the plain diff run,
# at the two levels where diff lost most (resnet8 and vgg at 1/4 of their RAM) and at 1/4 of
# resnet8's flash. Ideas: --distill 0.5 (from the network at the end of the warm-up),
# --lr-rewarm, --salience-decay 0.99 (a longer salience window), and a longer, more
# gradual pruning phase (--alpha-lr at half its automatic value with no fine-tuning epoch
# reserved: pruning may run to the end). Each variant runs with SEEDS seeds; the table gives
# the mean and the spread of the test accuracy, and the wall time over the plain run's.
# Writes bench/results/prune_ideas.md. Runs that finished (bench/work/prune_ideas/*/report.json,
# or prune_ideas-E<epochs>-t<limit>-e<limit test> with other data settings) are reused; delete that
# folder to measure afresh.
# Usage: bench/prune_ideas.sh [build dir]
# env: EPOCHS, LIMIT, LIMIT_TEST (2000; 0: all), SEEDS, THREADS, CASES ("resnet8:ram4 vgg:ram4
# resnet8:flash4"), IDEAS (names below; the first is the reference of the wall ratio), OUT.
# mobilenetv2 at 1/4 of its RAM on the quick benchmark's data (bench/results/prune_ideas_mnv2.md):
#   CASES=mobilenetv2:ram4 IDEAS="default plain distill-rewarm gradual-rewarm" SEEDS=3 \
#     LIMIT_TEST=0 OUT=bench/results/prune_ideas_mnv2.md bench/prune_ideas.sh
# Folding the masks and a 2-channel floor at the quick benchmark's 4x and flash16 levels
# (bench/results/prune_ideas_minw.md, measured when the default width was 1, as its "default",
# "fold" and "minw2" rows; with today's automatic width the same runs are):
#   CASES="vgg:ram4 resnet8:ram4 mobilenetv2:ram4 resnet8:flash4 mobilenetv2:flash4 vgg:flash16 \
#     mobilenetv2:flash16" IDEAS="minw1 fold-minw1 minw2" SEEDS=3 LIMIT_TEST=0 \
#     OUT=bench/results/prune_ideas_minw.md bench/prune_ideas.sh
# The width step's geometry, the task term's weight and the mask temperature
# (bench/results/width_step.md gives the commands, uniform with 3 seeds among them; their tables are
# prune_ideas_width.md, prune_ideas_width_levels.md, prune_ideas_width_split.md,
# prune_ideas_even.md, prune_ideas_uniform_mnv2_flash16.md and prune_ideas_channel.md).
# No warm-up: pruning from the first step, over two epochs (bench/results/prune_ideas_warmup0.md,
# whose "default" rows ran with the 1-epoch warm-up that was the default until then; since diff's
# default is no warm-up, the same comparison is):
#   CASES="resnet8:ram4 vgg:ram4 mobilenetv2:ram4 resnet8:flash4 mobilenetv2:flash16" \
#     IDEAS="warmup1 warmup0" SEEDS=3 LIMIT_TEST=0 OUT=bench/results/prune_ideas_warmup0.md bench/prune_ideas.sh
# The width step's ramp (--width-ramp 0.25; measured on full data with standard mode's command,
# docs/pruning.md) at quick mode's settings: IDEAS="default ramp25".
# The floor of 4 channels (the automatic --min-width's rule since 2026-12-05;
# bench/results/prune_ideas_floor.md, whose reference rows ran as "warmup0" when the automatic floor
# was 2; "minw2" is that reference today), and more frequent surgeries (prune_ideas_every.md):
#   CASES="mobilenetv2:ram4 resnet8:ram4 mobilenetv2:flash4 vgg:flash16 resnet8:flash4 mobilenetv2:f446re \
#     vgg:flash4 vgg:f446re" IDEAS="minw2 minw4" SEEDS=3 LIMIT_TEST=0 bench/prune_ideas.sh
#   CASES="resnet8:ram4 mobilenetv2:ram4" IDEAS="minw2 every10" SEEDS=3 LIMIT_TEST=0 bench/prune_ideas.sh
# distill and distill-rewarm turn the warm-up on as well (--distill needs one).
# Runs are reused by their folder's name: after a default changes, a "default" run there is the
# old default's; delete the folder to measure afresh.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BUILD="${1:-build}"
M="$(readlink -f "$BUILD/mcuprune")"
PY=/usr/bin/python3
EPOCHS="${EPOCHS:-3}"
LIMIT="${LIMIT:-12000}"
LIMIT_TEST="${LIMIT_TEST:-2000}"
SEEDS="${SEEDS:-2}"
CASES="${CASES:-resnet8:ram4 vgg:ram4 resnet8:flash4}"
OUT="${OUT:-bench/results/prune_ideas.md}"
THREADS="${THREADS:-$(nproc)}"
[ -x "$M" ] || { echo "bench: $M not built; run 'make' first" >&2; exit 1; }
W=bench/work/prune_ideas
# Runs of other data settings go to their own folder, so that none is reused for the wrong ones.
[ "$EPOCHS/$LIMIT/$LIMIT_TEST" = "3/12000/2000" ] || W="$W-E$EPOCHS-t$LIMIT-e$LIMIT_TEST"
mkdir -p "$W" bench/results  # finished runs (a report.json) are reused: rerun to continue
run() { local out="${@: -1}"; [ -f "$out/report.json" ] || { rm -rf "$out"; "$M" "$@"; }; }
C=(--dataset fashion-mnist --epochs "$EPOCHS" --limit-train "$LIMIT" --limit-test "$LIMIT_TEST" --val-fraction 0.02
   --threads "$THREADS" --quiet)
acc() { $PY -c "import json; print(json.load(open('$1/report.json'))['accuracy']['test'])"; }
secs() { $PY -c "import json; print(json.load(open('$1/report.json'))['wall_time_s'])"; }
stats() { $PY -c "
import statistics, sys
v = [100 * float(x) for x in sys.argv[1:]]
print('%.2f | %s' % (statistics.mean(v), ' / '.join('%.1f' % x for x in v)))" "$@"; }
# Each idea is diff with its options added to the defaults; plain, distill, salience-window and gradual
# ran before re-warming was the default, so they turn it off (--no-lr-rewarm).
declare -A IDEA=(
  [default]=""
  [plain]="--no-lr-rewarm"
  [distill]="--no-lr-rewarm --distill 0.5"
  [rewarm]="--lr-rewarm"
  [salience-window]="--no-lr-rewarm --salience-decay 0.99"
  [gradual]="--no-lr-rewarm --finetune-epochs 0"
  [distill-rewarm]="--distill 0.5"
  [gradual-rewarm]="--finetune-epochs 0"
  [minw1]="--min-width 1"
  [minw2]="--min-width 2"
  [minw4]="--min-width 4"
  [fold]="--fold-masks"
  [fold-minw1]="--fold-masks --min-width 1"
  [rho1]="--task-weight 1"
  [rho2]="--task-weight 2"
  [relative]="--width-step relative"
  [relative-rho1]="--width-step relative --task-weight 1"
  [temp4]="--temperature 4"
  [even]="--width-step even"
  [channel]="--width-step channel"
  [uniform]="--method uniform"
  [warmup0]="--warmup-epochs 0"
  [warmup1]="--warmup-epochs 1"
  [ramp25]="--width-ramp 0.25"
  [every10]="--prune-every 10 --min-width 2"
)
read -r -a ORDER <<< "${IDEAS:-plain distill rewarm salience-window gradual}"
for idea in "${ORDER[@]}"; do
  [ -n "${IDEA[$idea]+set}" ] || { echo "bench: IDEAS: unknown '$idea' (${!IDEA[*]})" >&2; exit 2; }
done
rows=()
for spec in $CASES; do
  model="${spec%%:*}"; level="${spec#*:}"
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
    echo "$model $level $idea: $(stats "${accs[@]}"), wall ${ratio}x the ${ORDER[0]} run" >&2
    rows+=("| $model | $level | $idea \`${IDEA[$idea]:-(no option)}\` | $(stats "${accs[@]}") | $ratio |")
  done
done
{
  echo "# Pruning ideas: diff with each row's options added to its defaults"
  echo
  test_words="first $LIMIT_TEST test samples"; [ "$LIMIT_TEST" = 0 ] && test_words="all 10000 test samples"
  echo "Fashion-MNIST, $LIMIT training samples, $test_words, $EPOCHS epochs, seeds 1..$SEEDS, $THREADS threads, $(date -u +%Y-%m-%d)."
  echo "Command: bench/prune_ideas.sh (CASES=\"$CASES\" IDEAS=\"${ORDER[*]}\"). Test accuracy in %: the mean over the seeds, then each seed's."
  echo "Wall: the median prune wall time over the ${ORDER[0]} run's (same model and level). Each run is diff with"
  echo "the defaults of the day plus the options shown (\`--no-lr-rewarm\`: without re-warming, as the default"
  echo "was until 2026-12-03)."
  echo
  echo "| model | level | run | mean acc % | per seed | wall vs ${ORDER[0]} |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT" >&2
