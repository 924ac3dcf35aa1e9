#!/usr/bin/env bash
# int8 vs float test accuracy (issue 5) on Fashion-MNIST for vgg, resnet8 and mobilenetv2,
# unpruned (trained E epochs) and pruned (E epochs, budgets of nucleo-f446re unless the
# model already fits; then RAM/flash halved). Post-training quantisation with the integer
# reference interpreter. Writes bench/results/quant_accuracy.md.
# Usage: bench/quant_accuracy.sh [build dir]  (env: EPOCHS, LIMIT_TEST, CALIBRATION)
set -euo pipefail
cd "$(dirname "$0")/.."
M="${1:-build}/mcuprune"
E="${EPOCHS:-2}"
LT="${LIMIT_TEST:-10000}"
CAL="${CALIBRATION:-200}"
PY=/usr/bin/python3
[ -x "$M" ] || { echo "bench: $M not built; run 'make' first" >&2; exit 1; }
W=bench/work/quant-$(date +%Y%m%d-%H%M%S)
mkdir -p "$W" bench/results
get() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval('d'+sys.argv[2]))" "$1" "$2"; }
rows=()
for model in vgg resnet8 mobilenetv2; do
  $M train --model $model --dataset fashion-mnist --epochs "$E" --quiet --out "$W/$model" > /dev/null
  $M profile --model "$W/$model" --json > "$W/$model-profile.json"
  ram=$(get "$W/$model-profile.json" "['totals']['ram_bytes']"); flash=$(get "$W/$model-profile.json" "['totals']['flash_bytes']")
  $M prune --model $model --dataset fashion-mnist --epochs "$E" --quiet --ram $((ram / 2)) --flash $((flash / 4)) \
    --out "$W/$model-pruned" > /dev/null
  for variant in "$model" "$model-pruned"; do
    $M quantize --model "$W/$variant" --dataset fashion-mnist --calibration-samples "$CAL" --limit-test "$LT" > /dev/null
    R="$W/$variant/quant_report.json"
    rows+=("| $variant | $(get "$R" "['model']['params']") | $(printf '%.4f' "$(get "$R" "['accuracy']['float']")") | $(printf '%.4f' "$(get "$R" "['accuracy']['int8']")") | $(printf '%+.2f' "$($PY -c "print(-$(get "$R" "['accuracy']['drop_points']"))")") | $(printf '%.2f%%' "$($PY -c "print(100*$(get "$R" "['int8_float_agreement']"))")") |")
  done
done
{
  echo "# int8 vs float accuracy (post-training quantisation)"
  echo
  echo "Fashion-MNIST, $E training epochs, $CAL calibration samples from the training set, first $LT test samples,"
  echo "integer reference interpreter (TFLite arithmetic), $(date -u +%Y-%m-%d). Pruned: RAM /2 and flash /4 of the unpruned model."
  echo
  echo "| model | params | float acc | int8 acc | int8 - float (points) | argmax agreement |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} > bench/results/quant_accuracy.md
cat bench/results/quant_accuracy.md
