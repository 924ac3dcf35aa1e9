#!/usr/bin/env bash
# Training speed at exact channel counts against the same network with every layer's channel
# count rounded up to a multiple of 8 (the question behind claim (b): pruned networks have
# arbitrary widths, and LibTorch's CPU convolutions may run slower at some of them).
# For each model and width multiplier, `mcuprune bench-train` measures samples/s of both
# architectures, alternating, REPEATS times; the median is reported with the ratio
# padded / exact (above 1: the padded network, although larger, trains faster).
# Writes bench/results/width_speed.{md,json}.
# Usage: bench/width_speed.sh [build dir]   (env: STEPS, REPEATS, BATCH, THREADS, MODELS, WIDTHS)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
M="$BUILD/mcuprune"
PY=/usr/bin/python3
STEPS="${STEPS:-30}"
REPEATS="${REPEATS:-3}"
BATCH="${BATCH:-64}"
THREADS="${THREADS:-$(nproc)}"
MODELS="${MODELS:-vgg resnet8}"
WIDTHS="${WIDTHS:-0.3 0.55 0.8}"   # fractions of the default width: odd channel counts
[ -x "$M" ] || { echo "bench: $M not built; run 'make' first" >&2; exit 1; }
mkdir -p bench/results bench/work
source bench/lib.sh  # median, sps, default_width, layout
rows=()
json="["
for model in $MODELS; do
  base=$(default_width "$model")
  for f in $WIDTHS; do
    w=$(awk -v b="$base" -v f="$f" 'BEGIN {printf "%.4f", b * f}')
    exact="bench/work/width-$model-$f.json"; padded="bench/work/width-$model-$f-pad8.json"
    $M models --show "$model" --input 28x28x1 --classes 10 --width "$w" --save "$exact" --force >/dev/null
    # Every convolution and hidden dense layer rounded up to a multiple of 8 (the logits keep
    # their count; a depthwise convolution follows its input).
    $PY - "$exact" "$padded" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
for n in j["nodes"]:
    if "out_channels" in n and n["name"] != j["output"]:
        n["out_channels"] = (n["out_channels"] + 7) // 8 * 8
json.dump(j, open(sys.argv[2], "w"), indent=1)
EOF
    chans=$($PY -c "import json; j=json.load(open('$exact')); print(' '.join(str(n['out_channels']) for n in j['nodes'] if 'out_channels' in n))")
    e=(); p=()
    el=$($M bench-train --model "$exact" --batch-size "$BATCH" --steps 1 --warmup 0 --threads "$THREADS" | layout)
    pl=$($M bench-train --model "$padded" --batch-size "$BATCH" --steps 1 --warmup 0 --threads "$THREADS" | layout)
    for r in $(seq 1 "$REPEATS"); do
      e+=("$($M bench-train --model "$exact" --batch-size "$BATCH" --steps "$STEPS" --threads "$THREADS" | sps)")
      p+=("$($M bench-train --model "$padded" --batch-size "$BATCH" --steps "$STEPS" --threads "$THREADS" | sps)")
    done
    es=$(printf '%s\n' "${e[@]}" | median); ps=$(printf '%s\n' "${p[@]}" | median)
    ratio=$(awk -v a="$ps" -v b="$es" 'BEGIN {printf "%.2f", a / b}')
    echo "$model width $w ($chans): exact $es samples/s, padded to 8 $ps samples/s, ratio $ratio" >&2
    rows+=("| $model | $w | $chans | $el | $(printf '%.0f' "$es") | $pl | $(printf '%.0f' "$ps") | $ratio |")
    json+="{\"model\":\"$model\",\"width\":$w,\"channels\":\"$chans\",\"threads\":$THREADS,\"batch_size\":$BATCH,\"steps\":$STEPS,\"repeats\":$REPEATS,\"exact_samples_per_s\":$es,\"padded_samples_per_s\":$ps,\"exact_layout\":\"$el\",\"padded_layout\":\"$pl\",\"ratio\":$ratio},"
  done
done
json="${json%,}]"
{
  echo "# Training speed: exact channel counts vs rounded up to a multiple of 8"
  echo
  echo "Fashion-MNIST (28x28x1), batch $BATCH, $THREADS threads, $STEPS timed steps, median of $REPEATS alternating runs,"
  echo "$(date -u +%Y-%m-%d). Ratio: padded samples/s over exact samples/s. Command: bench/width_speed.sh"
  echo "Layout: the activations' memory layout each network trains in (\`bench-train\`'s, src/nn/net.h). Before the"
  echo "layout was chosen from the widths (2026-12-05), a one-channel batch made every run channels-last, and the"
  echo "exact widths trained 1.6x to 3.95x slower than the padded ones (this table of 2026-12-02, in git)."
  echo
  echo "| model | width | exact channels | exact layout | exact samples/s | padded layout | padded samples/s | ratio |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} > bench/results/width_speed.md
echo "$json" > bench/results/width_speed.json
echo "wrote bench/results/width_speed.md" >&2
