#!/usr/bin/env bash
# Training throughput (samples/s) of vgg and resnet8 on Fashion-MNIST: mcuprune (C++,
# LibTorch) against the same network in PyTorch from Python (bench/torch_reference.py
# builds it from the architecture JSON mcuprune writes), same batch size, threads,
# optimizer (SGD, momentum 0.9) and data. Runs alternate between the two, REPEATS times;
# the median is reported. Writes bench/results/train_throughput.{md,json}.
# Usage: bench/train_throughput.sh [build dir]   (env: STEPS, REPEATS, BATCH, THREADS_LIST)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
M="$BUILD/mcuprune"
PY=/usr/bin/python3
STEPS="${STEPS:-40}"
REPEATS="${REPEATS:-3}"
BATCH="${BATCH:-64}"
THREADS_LIST="${THREADS_LIST:-1 $(nproc)}"
[ -x "$M" ] || { echo "bench: $M not built; run 'make' first" >&2; exit 1; }
$PY -c "import torch" 2>/dev/null || { echo "bench: Debian's python3-torch is missing; run scripts/install-deps.sh" >&2; exit 1; }
mkdir -p bench/results bench/work
source bench/lib.sh  # median, sps
rows=()
json="["
for model in vgg resnet8; do
  arch="bench/work/$model.json"
  $M models --show "$model" --input 28x28x1 --classes 10 --save "$arch" >/dev/null
  for t in $THREADS_LIST; do
    cpp=(); py=()
    for r in $(seq 1 "$REPEATS"); do
      cpp+=("$($M bench-train --model "$arch" --batch-size "$BATCH" --steps "$STEPS" --threads "$t" | sps)")
      py+=("$($PY bench/torch_reference.py --arch "$arch" --batch-size "$BATCH" --steps "$STEPS" --threads "$t" | sps)")
    done
    c=$(printf '%s\n' "${cpp[@]}" | median); p=$(printf '%s\n' "${py[@]}" | median)
    ratio=$(awk -v c="$c" -v p="$p" 'BEGIN {printf "%.2f", c / p}')
    echo "$model threads=$t: mcuprune $c samples/s, pytorch $p samples/s, ratio $ratio" >&2
    rows+=("| $model | $t | $BATCH | $(printf '%.0f' "$c") | $(printf '%.0f' "$p") | $ratio |")
    json+="{\"model\":\"$model\",\"threads\":$t,\"batch_size\":$BATCH,\"steps\":$STEPS,\"repeats\":$REPEATS,\"mcuprune_samples_per_s\":$c,\"pytorch_samples_per_s\":$p,\"ratio\":$ratio},"
  done
done
json="${json%,}]"
{
  echo "# Training throughput: mcuprune vs PyTorch (Python)"
  echo
  echo "Fashion-MNIST (28x28x1), SGD momentum 0.9, $STEPS timed steps after 5 warm-up steps,"
  echo "median of $REPEATS runs (alternating), on $(nproc) cores, $(date -u +%Y-%m-%d)."
  echo "Network: the same architecture JSON for both (bench/work/MODEL.json)."
  echo
  echo "| model | threads | batch | mcuprune samples/s | PyTorch samples/s | ratio |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} > bench/results/train_throughput.md
echo "$json" > bench/results/train_throughput.json
cat bench/results/train_throughput.md
