#!/usr/bin/env bash
# Capacity or procedure? The architecture diff ended with, trained from scratch. For each
# model and level (MODELS, LEVELS), every diff seed of the quick benchmark
# (bench/work/methods-quick, made by `make bench` first) gets its final architecture
# (model.json, without weights: random initialisation) trained with the benchmark's own data,
# epochs and seed. Against it: diff's accuracy and the uniform width multiplier's (trained from
# scratch at its own width). Scratch below diff: pruning's procedure (training at full width
# first, then cutting) helps; scratch below uniform: the architecture diff picked is itself
# worse than the uniform one. Writes bench/results/arch_scratch.md. About 2 minutes per vgg
# level and 4 per mobilenetv2 level on 2 cores.
# Usage: bench/arch_scratch.sh [build dir]   (env: MODELS ("vgg mobilenetv2"), LEVELS ("ram4"))
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
M="$(readlink -f "$BUILD/mcuprune")"
PY=/usr/bin/python3
MODELS="${MODELS:-vgg mobilenetv2}"
LEVELS="${LEVELS:-ram4}"
Q=bench/work/methods-quick
W=bench/work/arch_scratch
[ -x "$M" ] || { echo "bench: $M not built; run 'make' first" >&2; exit 1; }
[ -f "$Q/benchmark-settings.json" ] || { echo "bench: $Q has no quick benchmark; run 'make bench' first" >&2; exit 1; }
setting() { "$PY" -c "import json,sys; print(json.load(open('$Q/benchmark-settings.json'))['$1'])"; }
C=(--dataset "$(setting data)" --epochs "$(setting epochs)"
   --limit-test "$(setting limit_test)" --val-fraction "$(setting val_fraction)" --quiet)
# The model's own training samples and learning rate, as the benchmark gave its runs.
model_args() { "$PY" -c "import json; s = json.load(open('$Q/benchmark-settings.json')); m = '$1'
print('--limit-train', s.get('limit_train_by_model', {}).get(m, s['limit_train']), *(['--lr', s['lr'][m]] if m in s.get('lr', {}) else []))"; }
mkdir -p "$W" bench/results
start=$(date +%s)
rows=()
for model in $MODELS; do
  read -r -a MA <<< "$(model_args "$model")"
  for level in $LEVELS; do
    seeds=()
    for d in "$Q/$model/$level"/diff-s*; do
      [ -f "$d/report.json" ] || continue
      seed="${d##*-s}"; seeds+=("$seed")
      out="$W/$model-$level-s$seed"
      if [ ! -f "$out/report.json" ]; then
        rm -rf "$out" "$out.arch"; mkdir -p "$out.arch"; cp "$d/model.json" "$out.arch/model.json"
        "$M" train --model "$out.arch/model.json" "${C[@]}" "${MA[@]}" --seed "$seed" --out "$out" > "$out.log" 2>&1 \
          || { echo "failed: train of $d's architecture; see $out.log" >&2; exit 1; }
      fi
    done
    [ ${#seeds[@]} -gt 0 ] || { echo "bench: no diff run at $model $level in $Q" >&2; exit 1; }
    rows+=("$("$PY" - "$Q" "$W" "$model" "$level" "${seeds[@]}" <<'PYEOF'
import json, statistics, sys
q, w, model, level, *seeds = sys.argv[1:]
def acc(path):
    try: return 100 * json.load(open(path))["accuracy"]["test"]
    except FileNotFoundError: return None
def cell(values):
    values = [v for v in values if v is not None]
    if not values: return "-"
    text = f"{statistics.mean(values):.2f}"
    return text if len(values) == 1 else text + " (" + " / ".join(f"{v:.2f}" for v in values) + ")"
import glob
unif = [acc(p) for p in sorted(glob.glob(f"{q}/{model}/{level}/uniform-s*/report.json"))]
print(f"| {model} | {level} | {cell([acc(f'{q}/{model}/unpruned-s{s}/report.json') for s in seeds])} | "
      f"{cell([acc(f'{q}/{model}/{level}/diff-s{s}/report.json') for s in seeds])} | "
      f"{cell([acc(f'{w}/{model}-{level}-s{s}/report.json') for s in seeds])} | {cell(unif)} |")
PYEOF
)")
    echo "${rows[-1]}" >&2
  done
done
{
  echo "# diff's final architecture trained from scratch"
  echo
  echo "Written by \`bench/arch_scratch.sh\` ($(date -u +%Y-%m-%d), $(( ($(date +%s) - start) / 60 )) min for the runs not reused),"
  echo "on the quick benchmark's data and epochs (\`${C[*]}\`), each diff seed's architecture with that seed."
  echo "Test accuracy in %: the mean over the seeds, then each seed's."
  echo
  echo "| model | level | unpruned | diff (pruned while training) | diff's architecture from scratch | uniform (from scratch) |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} > bench/results/arch_scratch.md.tmp
mv bench/results/arch_scratch.md.tmp bench/results/arch_scratch.md
echo "wrote bench/results/arch_scratch.md" >&2
