#!/usr/bin/env bash
# The exported .tflite files of trained models, run by Arm NN (TFLite parser, CpuRef) on
# real Fashion-MNIST test images: accuracy next to the integer reference's, and the file
# size next to the resource model's flash estimate. Uses the models bench/quant_accuracy.sh
# trained (the newest bench/work/quant-* unless a directory is given).
# Usage: bench/export_armnn.sh [quant work dir] [build dir]  (env: LIMIT_TEST, CALIBRATION)
set -euo pipefail
cd "$(dirname "$0")/.."
W="${1:-$(ls -d bench/work/quant-* 2>/dev/null | sort | tail -1)}"
B="${2:-build}"
M="$B/mcuprune"
TA="$B/tflite_accuracy"
N="${LIMIT_TEST:-1000}"
CAL="${CALIBRATION:-200}"
PY=/usr/bin/python3
[ -x "$M" ] && [ -x "$TA" ] || { echo "bench: $M or $TA not built; run 'make' first" >&2; exit 1; }
[ -n "$W" ] && [ -d "$W" ] || { echo "bench: no trained models; run 'make bench-quant' first" >&2; exit 1; }
get() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval('d'+sys.argv[2]))" "$1" "$2"; }
rows=()
for variant in vgg vgg-pruned resnet8 resnet8-pruned mobilenetv2 mobilenetv2-pruned; do
  [ -d "$W/$variant" ] || continue
  $M export --model "$W/$variant" --format tflite --dataset fashion-mnist --calibration-samples "$CAL" \
    --out "$W/$variant.tflite" > "$W/$variant-export.txt"
  $M quantize --model "$W/$variant" --dataset fashion-mnist --calibration-samples "$CAL" --limit-test "$N" \
    --report "$W/$variant-quant$N.json" > /dev/null
  $M profile --model "$W/$variant" --json > "$W/$variant-prof.json"
  "$TA" "$W/$variant.tflite" "$W/$variant" fashion-mnist "$N" > "$W/$variant-armnn.json"
  ref=$(get "$W/$variant-quant$N.json" "['accuracy']['int8']"); got=$(get "$W/$variant-armnn.json" "['accuracy']")
  size=$(stat -c %s "$W/$variant.tflite"); flash=$(get "$W/$variant-prof.json" "['totals']['flash_bytes']")
  rows+=("| $variant | $(printf '%.4f' "$ref") | $(printf '%.4f' "$got") | $(printf '%+.2f' "$($PY -c "print(100*($got-$ref))")") | $size | $flash | $(printf '%+.2f%%' "$($PY -c "print(100*($flash/$size-1))")") |")
done
{
  echo "# Exported .tflite run by Arm NN vs the integer reference"
  echo
  echo "Models from $W (Fashion-MNIST), $CAL calibration samples, first $N test samples,"
  echo "Arm NN 20.08 TFLite parser + CpuRef backend, $(date -u +%Y-%m-%d). Flash: \`mcuprune profile\` estimate (nucleo-f446re, cmsis-nn)."
  echo
  echo "| model | int8 reference acc | Arm NN acc | difference (points) | .tflite bytes | resource-model flash bytes | estimate - file |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} > bench/results/export_armnn.md
cat bench/results/export_armnn.md
