#!/usr/bin/env bash
# Optimal operator order search: time, states explored, and peak SRAM given vs optimal for
# every zoo model at the reference input shapes (nucleo-f446re, cmsis-nn runtime).
# Writes bench/results/optimal_order.md. Usage: bench/optimal_order.sh [build dir]
set -euo pipefail
cd "$(dirname "$0")/.."
M="${1:-build}/mcuprune"
[ -x "$M" ] || { echo "bench: $M not built; run 'make' first" >&2; exit 1; }
mkdir -p bench/results
out=bench/results/optimal_order.md
{
  echo "# Optimal operator order: search cost and peak SRAM"
  echo
  echo "nucleo-f446re, cmsis-nn runtime, $(date -u +%Y-%m-%d). Peak = activations + scratch (bytes)."
  echo
  echo "| model | input | ops | given peak | optimal peak | in-place add peak | states | search ms |"
  echo "|---|---|---|---|---|---|---|---|"
  for spec in "28x28x1 10" "32x32x3 10" "49x10x1 12"; do
    set -- $spec
    for model in tinycnn vgg mobilenetv2 resnet8 dscnn; do
      j="$($M profile --model $model --input $1 --classes $2 --json)"
      ji="$($M profile --model $model --input $1 --classes $2 --json --inplace-add)"
      /usr/bin/python3 - "$model" "$1" "$j" "$ji" <<'PY'
import json, sys
m, shape, j, ji = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
t = j["totals"]
print(f"| {m} | {shape} | {len(j['operators'])} | {t['peak_sram_given_order_bytes']} | "
      f"{t['peak_sram_optimal_order_bytes']} | {ji['totals']['peak_sram_optimal_order_bytes']} | "
      f"{j['optimal_search_states']} | {j['optimal_search_ms']:.2f} |")
PY
    done
  done
} > "$out"
cat "$out"
