#!/usr/bin/env bash
# Claim (b): wall time of `prune` (diff) over the unpruned `train` of the same model, seed,
# epochs, data and threads, at the quick benchmark's diff levels. Each level runs REPEATS pairs
# (train, then prune, alternating, in one sitting: ratios, not absolute times, are what this
# machine measures reliably); the table gives the median of the pairs' ratios and the largest,
# in wall time and in CPU time (user + system, which other load disturbs less). EXACT=1 adds
# prune runs without channel padding (--pad-channels 1). The per-epoch time breakdown of each
# prune run is in its report.json. Writes OUT (default bench/results/prune_speed.md).
# Usage: bench/prune_speed.sh [build dir]   (env: EPOCHS, LIMIT, THREADS, SEED, REPEATS, SPECS, EXACT, OUT)
# The default LIMIT and SPECS are the quick benchmark's of 2026-12-03 (bench/results/prune_speed.md).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
M="$(readlink -f "$BUILD/mcuprune")"
PY=/usr/bin/python3
EPOCHS="${EPOCHS:-3}"
LIMIT="${LIMIT:-6000}"
THREADS="${THREADS:-$(nproc)}"
SEED="${SEED:-1}"
REPEATS="${REPEATS:-3}"
SPECS="${SPECS:-vgg:f446re vgg:tight vgg:ram4 vgg:flash4 vgg:flash16 vgg:flash64 resnet8:ram4 resnet8:flash4}"
EXACT="${EXACT:-0}"
OUT="${OUT:-bench/results/prune_speed.md}"
[ -x "$M" ] || { echo "bench: $M not built; run 'make' first" >&2; exit 1; }
source bench/lib.sh  # level_budget
W=bench/work/prune_speed
rm -rf "$W"; mkdir -p "$W" bench/results
C=(--dataset fashion-mnist --epochs "$EPOCHS" --limit-train "$LIMIT" --limit-test 2000 --val-fraction 0.02
   --threads "$THREADS" --seed "$SEED" --quiet --no-html)
# run DIR CMD...: the command's wall and CPU seconds ("WALL CPU"), its output in DIR.
run() { /usr/bin/time -o "$W/time" -f "%e %U %S" "$@" > /dev/null 2>&1; awk '{printf "%.2f %.2f", $1, $2 + $3}' "$W/time"; }
acc() { $PY -c "import json; print('%.4f' % json.load(open('$1/report.json'))['accuracy']['test'])"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
stats() { sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f %.2f", m, a[NR]}'; }  # median max
rows=(); pairs=(); worst=0
for spec in $SPECS; do
  model=${spec%%:*}; level=${spec#*:}
  read -r -a budget <<< "$(level_budget "$model" "$level")"
  rw=(); rc=(); re=(); accs=()
  for r in $(seq 1 "$REPEATS"); do
    read -r tw tc <<< "$(run "$M" train --model "$model" "${C[@]}" --out "$W/$model-$level-train$r")"
    read -r pw pc <<< "$(run "$M" prune --model "$model" "${C[@]}" "${budget[@]}" --out "$W/$model-$level-prune$r")"
    rw+=("$(ratio "$pw" "$tw")"); rc+=("$(ratio "$pc" "$tc")"); accs+=("$(acc "$W/$model-$level-prune$r")")
    if [ "$EXACT" = 1 ]; then
      read -r ew ec <<< "$(run "$M" prune --model "$model" "${C[@]}" "${budget[@]}" --pad-channels 1 --out "$W/$model-$level-exact$r")"
      re+=("$(ratio "$ew" "$tw")")
    fi
    pairs+=("- $model $level pair $r: train ${tw} s, prune ${pw} s (${rw[-1]}x wall, ${rc[-1]}x CPU)")
    echo "${pairs[-1]#- }" >&2
  done
  read -r mw xw <<< "$(printf '%s\n' "${rw[@]}" | stats)"; read -r mc xc <<< "$(printf '%s\n' "${rc[@]}" | stats)"
  exact="-"; [ "$EXACT" = 1 ] && exact=$(printf '%s\n' "${re[@]}" | stats | cut -d' ' -f1)
  worst=$(awk -v a="$worst" -v b="$xw" 'BEGIN {print (b > a) ? b : a}')
  rows+=("| $model | $level | $mw | $xw | $mc | $xc | $exact | $(acc "$W/$model-$level-train1") | ${accs[0]} |")
done
{
  echo "# Claim (b): prune wall time over the unpruned training"
  echo
  echo "Fashion-MNIST, $LIMIT training samples, $EPOCHS epochs, seed $SEED, $THREADS threads; $REPEATS pairs (train, then"
  echo "prune) per level, alternating, in one sitting; $(date -u +%Y-%m-%d). Command: bench/prune_speed.sh (SPECS=\"$SPECS\" REPEATS=$REPEATS LIMIT=$LIMIT)."
  echo "Ratios: prune (diff, --pad-channels 8, the default) over train, per pair; median and largest of the"
  echo "pairs, in wall time and in CPU time (user + system). Exact: the median with --pad-channels 1 (EXACT=1)."
  echo "Accuracy: test accuracy of the first pair's runs."
  echo
  echo "| model | level | wall ratio (median) | wall ratio (max) | CPU ratio (median) | CPU ratio (max) | exact widths (median) | train acc | prune acc |"
  echo "|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Largest wall ratio of any pair: ${worst}x."
  echo
  echo "Each pair (wall seconds from /usr/bin/time):"
  echo
  printf '%s\n' "${pairs[@]}"
} > "$OUT.tmp" && mv "$OUT.tmp" "$OUT"
echo "wrote $OUT" >&2
