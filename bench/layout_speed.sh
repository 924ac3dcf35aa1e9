#!/usr/bin/env bash
# Training speed of the two memory layouts of the activations, NCHW and channels-last (NHWC),
# for the zoo's models at their default widths (every width a multiple of 8) and at odd widths
# (the default times WIDTH_ODD), on one-channel 28x28 images (Fashion-MNIST) and on 3-channel
# 32x32 images (random pixels in an .npz written here: the speed does not depend on the
# values). `mcuprune bench-train --layout` measures samples/s of each layout, alternating,
# REPEATS times; the table gives the medians, their ratio and the layout `auto` picks
# (channels-last exactly where every spatial width is a multiple of 8: src/nn/net.h).
# Writes OUT (default bench/results/layout_speed.md).
# Usage: bench/layout_speed.sh [build dir]   (env: STEPS, REPEATS, BATCH, THREADS, MODELS, WIDTH_ODD, OUT)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
M="$BUILD/mcuprune"
PY=/usr/bin/python3
STEPS="${STEPS:-20}"
REPEATS="${REPEATS:-3}"
BATCH="${BATCH:-64}"
THREADS="${THREADS:-$(nproc)}"
MODELS="${MODELS:-vgg resnet8 mobilenetv2}"
WIDTH_ODD="${WIDTH_ODD:-0.55}"
OUT="${OUT:-bench/results/layout_speed.md}"
[ -x "$M" ] || { echo "bench: $M not built; run 'make' first" >&2; exit 1; }
source bench/lib.sh  # median, sps, default_width
W=bench/work/layout_speed
mkdir -p "$W" "$(dirname "$OUT")"
rgb="$W/rgb32.npz"
[ -f "$rgb" ] || $PY - "$rgb" <<'EOF'
import sys, numpy as np
r = np.random.default_rng(0)
x = r.integers(0, 256, size=(2048, 32, 32, 3), dtype=np.uint8)
y = r.integers(0, 10, size=2048).astype(np.int64); y[:10] = np.arange(10)
np.savez(sys.argv[1], x_train=x, y_train=y, x_test=x[:256], y_test=y[:256])
EOF
rows=()
for data in fashion-mnist "$rgb"; do
  if [ "$data" = fashion-mnist ]; then input=28x28x1; else input=32x32x3; fi
  for model in $MODELS; do
    base=$(default_width "$model")
    for f in 1 "$WIDTH_ODD"; do
      w=$(awk -v b="$base" -v f="$f" 'BEGIN {printf "%.4f", b * f}')
      a=(--model "$model" --width "$w" --dataset "$data" --batch-size "$BATCH" --threads "$THREADS")
      auto=$($M bench-train "${a[@]}" --steps 1 --warmup 0 | $PY -c "import json,sys; print(json.load(sys.stdin)['layout'])")
      n=(); c=()
      for r in $(seq 1 "$REPEATS"); do
        n+=("$($M bench-train "${a[@]}" --steps "$STEPS" --layout nchw | sps)")
        c+=("$($M bench-train "${a[@]}" --steps "$STEPS" --layout channels-last | sps)")
      done
      ns=$(printf '%s\n' "${n[@]}" | median); cs=$(printf '%s\n' "${c[@]}" | median)
      ratio=$(awk -v a="$cs" -v b="$ns" 'BEGIN {printf "%.2f", a / b}')
      widths=$([ "$f" = 1 ] && echo "the default" || echo "the default x $f")
      echo "$input $model width $w: NCHW $ns, channels-last $cs samples/s, ratio $ratio, auto $auto" >&2
      rows+=("| $input | $model | $w, $widths | $(printf '%.0f' "$ns") | $(printf '%.0f' "$cs") | $ratio | $auto |")
    done
  done
done
{
  echo "# Training speed: NCHW against channels-last activations"
  echo
  echo "Batch $BATCH, $THREADS threads, $STEPS timed steps after 5 untimed, median of $REPEATS alternating runs of"
  echo "each layout; $(date -u +%Y-%m-%d). Command: bench/layout_speed.sh (\`mcuprune bench-train --layout\`)."
  echo "28x28x1: Fashion-MNIST; 32x32x3: random pixels. Ratio: channels-last samples/s over NCHW's."
  echo "auto: the layout \`train\` and \`prune\` use (channels-last where every spatial width is a multiple of 8;"
  echo "mobilenetv2 rounds its widths to multiples of 8 at every width multiplier, vgg and resnet8 do not)."
  echo
  echo "| input | model | width | NCHW samples/s | channels-last samples/s | ratio | auto |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} > "$OUT"
echo "wrote $OUT" >&2
