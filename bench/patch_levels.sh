#!/usr/bin/env bash
# The benchmark's RAM levels with patch plans (issue: patch-based execution): vgg, resnet8 and
# mobilenetv2 at 1/4 of their RAM (ram4) and at the tight level (1/8 RAM, 1/20 flash), all under
# --runtime mcuprune, budgets from the unpruned model's layer-by-layer profile. Methods: diff
# with the first stage in patches (--patch auto, the default), diff layer by layer
# (--patch none), and the two baselines a user tries first (uniform width multiplier and
# magnitude pruning), which get the runtime's plans too (--patch auto). Quick-mode data:
# 6,000 training and 2,000 test samples of Fashion-MNIST, 3 epochs, seed 1 (SEED).
# Writes bench/results/patch_levels.md: test accuracy against the pruned model's peak SRAM
# (as the runtime executes it) and its plan. Finished runs (bench/work/patch_levels/*/report.json)
# are reused. About 30 minutes on 2 cores.
# Usage: bench/patch_levels.sh [build dir]   (env: SEED, MODELS)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
M="$(readlink -f "$BUILD/mcuprune")"
PY=/usr/bin/python3
SEED="${SEED:-1}"
MODELS="${MODELS:-vgg resnet8 mobilenetv2}"
[ -x "$M" ] || { echo "bench: $M not built; run 'make' first" >&2; exit 1; }
W=bench/work/patch_levels
mkdir -p "$W" bench/results
run() { local out="${@: -1}"; [ -f "$out/report.json" ] || { rm -rf "$out"; "$M" "$@" > "$out.log" 2>&1 || { echo "failed: $*; see $out.log" >&2; exit 1; }; }; }
C=(--dataset fashion-mnist --epochs 3 --limit-train 6000 --limit-test 2000 --val-fraction 0.02 --seed "$SEED" --quiet)
total() { "$M" profile --model "$1" --runtime mcuprune --patch none --json | "$PY" -c "import json,sys; print(json.load(sys.stdin)['totals']['$2'])"; }
start=$(date +%s)
rows=()
for model in $MODELS; do
  ram=$(total "$model" ram_bytes)
  flash=$(total "$model" flash_bytes)
  run train --model "$model" "${C[@]}" --out "$W/$model-unpruned"
  for level in ram4 tight; do
    if [ "$level" = ram4 ]; then B=(--ram $((ram / 4))); else B=(--ram $((ram / 8)) --flash $((flash / 20))); fi
    for variant in "diff auto" "diff none" "uniform auto" "magnitude auto"; do
      set -- $variant
      run prune --model "$model" "${C[@]}" "${B[@]}" --runtime mcuprune --method "$1" --patch "$2" \
        --out "$W/$model-$level-$1-$2"
    done
    rows+=("$("$PY" - "$W" "$model" "$level" "${B[*]}" <<'PYEOF'
import json, sys
w, model, level, budget = sys.argv[1:5]
def rep(name): return json.load(open(f"{w}/{model}-{name}/report.json"))
u = rep("unpruned")
cells = []
for name in ["diff-auto", "diff-none", "uniform-auto", "magnitude-auto"]:
    r = rep(f"{level}-{name}")
    p = r["patch"]["after"]
    plan = "layer by layer" if p is None else f"{p['rows']}x{p['cols']}@{p['cut']}"
    fits = ("" if r.get("budgets_met", True) else " (over budget)") + (" (fallback)" if r.get("fallbacks") else "")
    cells.append(f"{100 * r['accuracy']['test']:.2f}{fits} / {r['resources']['after']['peak_sram_bytes']} / {plan}")
print(f"| {model} | {level} ({budget}) | {100 * u['accuracy']['test']:.2f} | " + " | ".join(cells) + " |")
PYEOF
)")
    echo "${rows[-1]}" >&2
  done
done
{
  echo "# The benchmark's RAM levels with patch plans"
  echo
  echo "Written by \`bench/patch_levels.sh\` ($(date -u +%Y-%m-%d), $(( ($(date +%s) - start) / 60 )) min for the runs not reused)."
  echo "Fashion-MNIST, 6,000 training / 2,000 test samples, 3 epochs, seed $SEED, \`--runtime mcuprune\`;"
  echo "budgets: 1/4 of the unpruned model's layer-by-layer RAM (ram4), or 1/8 of its RAM and 1/20 of its flash (tight)."
  echo "Each cell: test accuracy % / peak SRAM in bytes as the runtime executes the pruned model / its plan;"
  echo "a run that misses a budget or needed a fallback says so."
  echo
  echo "| model | level (budget) | unpruned | diff, patches (auto) | diff, layer by layer | uniform (auto) | magnitude (auto) |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} > bench/results/patch_levels.md
echo "wrote bench/results/patch_levels.md" >&2
