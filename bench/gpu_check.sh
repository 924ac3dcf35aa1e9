#!/usr/bin/env bash
# The GPU checks that cannot run on the CPU machines this project is built on (docs/distributed.md,
# GPUs). On a machine with an NVIDIA GPU and a CUDA-enabled torch for Python (pip or conda), after
# scripts/install-deps.sh:
#   1. builds mcuprune against that torch's LibTorch (its CMake prefix path) in build-gpu/;
#   2. runs the device tests (tests/cli/device.sh with MCUPRUNE_GPU_TESTS=1): train, eval, prune
#      and quantisation-aware fine-tuning on cuda against the CPU, and two workers on two GPUs;
#   3. measures training throughput (samples/s) of vgg and resnet8 on the GPU, mcuprune against
#      PyTorch from Python on the same GPU (bench/torch_reference.py, the same architecture JSON,
#      batch, optimizer and data), median of REPEATS alternating runs.
# Writes bench/results/gpu_check.md and .json. Usage: bench/gpu_check.sh [python]
# (on a machine that cannot install packages: bench/gpu_offline.sh)
# (env: STEPS, REPEATS, BATCHES, BUILD; PARTS: which of "tests throughput prune" to run after the
# build, default "tests throughput"; "prune" writes bench/results/gpu_prune_speed.md: prune against
# train wall time on the GPU, PRUNE_MODELS at the nucleo-f446re level, PRUNE_EPOCHS epochs of
# PRUNE_LIMIT samples, REPEATS alternating pairs)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-python3}"
BUILD="${BUILD:-build-gpu}"
STEPS="${STEPS:-200}"
REPEATS="${REPEATS:-3}"
BATCHES="${BATCHES:-64 256}"
PARTS="${PARTS:-tests throughput}"
PRUNE_MODELS="${PRUNE_MODELS:-vgg mobilenetv2}"
PRUNE_EPOCHS="${PRUNE_EPOCHS:-3}"
PRUNE_LIMIT="${PRUNE_LIMIT:-10000}"
part() { [[ " $PARTS " == *" $1 "* ]]; }
die() { echo "gpu_check: $*" >&2; exit 1; }

info=$($PY -c 'import torch; print(torch.__version__, torch.version.cuda or "none", int(torch.cuda.is_available()), torch.utils.cmake_prefix_path)') \
  || die "$PY cannot import torch; give the python whose torch has CUDA: bench/gpu_check.sh /path/to/python"
read -r torch_version cuda_version cuda_ok prefix <<< "$info"
[ "$cuda_version" != none ] || die "torch $torch_version for $PY is built without CUDA"
[ "$cuda_ok" = 1 ] || die "torch $torch_version (CUDA $cuda_version) sees no GPU (check nvidia-smi, CUDA_VISIBLE_DEVICES)"
gpu=$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2> /dev/null | head -1 || echo "unknown GPU")
echo "gpu_check: torch $torch_version, CUDA $cuda_version, $gpu" >&2

# 1. The build (the test binaries too: the device tests run through the CLI).
# (env from bench/gpu_offline.sh: CMAKE_DEPS_PREFIX, a prefix with the other libraries; CMAKE_EXTRA,
# more -D options; BUILD_LOG, the whole configure and build output.)
BUILD_LOG="${BUILD_LOG:-$BUILD.log}"
# shellcheck disable=SC2086
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix${CMAKE_DEPS_PREFIX:+;$CMAKE_DEPS_PREFIX}" \
  ${CMAKE_EXTRA:-} > "$BUILD_LOG" 2>&1 || { tail -30 "$BUILD_LOG"; die "configure failed (whole log: $BUILD_LOG)"; }
grep -E "LibTorch|NCCL" "$BUILD_LOG" || true
# -k: every file that fails to compile is in the log, not only the first.
cmake --build "$BUILD" -j"$(nproc)" --target mcuprune -- -k >> "$BUILD_LOG" 2>&1 \
  || { grep -E "error|Error" "$BUILD_LOG" | head -60; die "build failed (whole log: $BUILD_LOG)"; }
M="$BUILD/mcuprune"

source bench/lib.sh  # median, sps
mkdir -p bench/results bench/work

# report_field DIR KEY...: a value of DIR/report.json (keys as Python subscripts' names).
report_field() {
  /usr/bin/python3 -c "import json, sys; v = json.load(open(sys.argv[1] + '/report.json'))
for k in sys.argv[2:]: v = v[k]
print(v)" "$@"
}

# 4. Prune against train wall time on the GPU (claim (b) there): same seed, epochs and data.
# It runs first when asked for (PARTS), since it needs neither the device tests nor throughput.
if part prune; then
  prows=()
  for model in $PRUNE_MODELS; do
    tr=(); pr=()
    C=(--model "$model" --dataset fashion-mnist --epochs "$PRUNE_EPOCHS" --limit-train "$PRUNE_LIMIT" --val-fraction 0.02
       --limit-test 2000 --seed 1 --device cuda --quiet --force --no-html)
    for _ in $(seq 1 "$REPEATS"); do
      $M train "${C[@]}" --out "bench/work/gpu-train-$model" > /dev/null
      tr+=("$(report_field "bench/work/gpu-train-$model" wall_time_s)")
      $M prune "${C[@]}" --board nucleo-f446re --out "bench/work/gpu-prune-$model" > /dev/null
      pr+=("$(report_field "bench/work/gpu-prune-$model" wall_time_s)")
    done
    t=$(printf '%s\n' "${tr[@]}" | median); p=$(printf '%s\n' "${pr[@]}" | median)
    acc="$(report_field "bench/work/gpu-train-$model" accuracy test) | $(report_field "bench/work/gpu-prune-$model" accuracy test)"
    ratio=$(awk -v p="$p" -v t="$t" 'BEGIN {printf "%.2f", p / t}')
    echo "$model: train ${tr[*]} s, prune ${pr[*]} s, ratio of medians $ratio" >&2
    prows+=("| $model | ${tr[*]} | ${pr[*]} | $ratio | $acc |")
  done
  {
    echo "# Prune against train wall time on a GPU"
    echo
    echo "$gpu; torch $torch_version (CUDA $cuda_version); $(date -u +%Y-%m-%d). Written by \`PARTS=prune bench/gpu_check.sh\`."
    echo "Fashion-MNIST, $PRUNE_EPOCHS epochs of $PRUNE_LIMIT training samples, 2,000 test samples, seed 1, --device cuda;"
    echo "prune at the nucleo-f446re level (its RAM and flash). $REPEATS alternating train/prune pairs; wall times in s."
    echo
    echo "| model | train | prune | prune / train (medians) | test accuracy train, prune |"
    echo "|---|---|---|---|---|"
    printf '%s\n' "${prows[@]}"
  } > bench/results/gpu_prune_speed.md
  cat bench/results/gpu_prune_speed.md
fi
part tests || part throughput || exit 0

# 2. The device tests.
if part tests; then MCUPRUNE_GPU_TESTS=1 bash tests/cli/device.sh "$M" | tee "$BUILD/device_tests.txt"
else echo "not run (PARTS=$PARTS)" > "$BUILD/device_tests.txt"; fi

# 3. Throughput on the GPU.
rows=(); json="["
for model in $(part throughput && echo vgg resnet8); do
  arch="bench/work/gpu-$model.json"
  $M models --show "$model" --input 28x28x1 --classes 10 --save "$arch" --force > /dev/null
  for batch in $BATCHES; do
    cpp=(); py=()
    for _ in $(seq 1 "$REPEATS"); do
      cpp+=("$($M bench-train --model "$arch" --batch-size "$batch" --steps "$STEPS" --device cuda | sps)")
      py+=("$($PY bench/torch_reference.py --arch "$arch" --batch-size "$batch" --steps "$STEPS" --device cuda \
               ${MCUPRUNE_DATA:+--data "$MCUPRUNE_DATA/fashion-mnist"} | sps)")
    done
    c=$(printf '%s\n' "${cpp[@]}" | median); p=$(printf '%s\n' "${py[@]}" | median)
    ratio=$(awk -v c="$c" -v p="$p" 'BEGIN {printf "%.2f", c / p}')
    echo "$model batch=$batch: mcuprune $c samples/s, pytorch $p samples/s, ratio $ratio" >&2
    rows+=("| $model | $batch | $(printf '%.0f' "$c") | $(printf '%.0f' "$p") | $ratio |")
    json+="{\"model\":\"$model\",\"batch_size\":$batch,\"steps\":$STEPS,\"mcuprune_samples_per_s\":$c,\"pytorch_samples_per_s\":$p,\"ratio\":$ratio},"
  done
done
json="${json%,}]"
{
  echo "# GPU check: device tests and training throughput on a GPU"
  echo
  echo "$gpu; torch $torch_version (CUDA $cuda_version) for both; $(date -u +%Y-%m-%d)."
  echo
  echo "## Device tests (tests/cli/device.sh, MCUPRUNE_GPU_TESTS=1)"
  echo
  sed 's/^/    /' "$BUILD/device_tests.txt"
  echo
  echo "## Training throughput (Fashion-MNIST 28x28x1, SGD momentum 0.9, $STEPS timed steps, median of $REPEATS)"
  echo
  echo "| model | batch | mcuprune samples/s | PyTorch samples/s | ratio |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} > bench/results/gpu_check.md
echo "$json" > bench/results/gpu_check.json
cat bench/results/gpu_check.md
