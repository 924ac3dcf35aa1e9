#!/usr/bin/env bash
# The benchmark's RAM levels with patch plans (issue: patch-based execution): vgg, resnet8 and
# mobilenetv2 at 1/4 of their RAM (ram4) and at the tight level (1/8 RAM, 1/20 flash), all under
# --runtime mcuprune, budgets from the unpruned model's layer-by-layer profile. Methods: diff
# with the first stage in patches (--patch auto, the default), diff layer by layer
# (--patch none), and the two baselines a user tries first (uniform width multiplier and
# magnitude pruning), which get the runtime's plans too (--patch auto). Default data: quick
# mode's old size, 6,000 training and 2,000 test samples of Fashion-MNIST, 3 epochs, seed 1.
# Writes bench/results/patch_levels.md (OUT): test accuracy against the pruned model's peak SRAM
# (as the runtime executes it) and its plan; with several SEEDS, each cell is the seed mean
# (each seed's accuracy after it). Finished runs (WORK/*/report.json) are reused.
# About 30 minutes on 2 cores with the defaults.
# Usage: bench/patch_levels.sh [build dir]
# env: SEEDS ("1"), MODELS, LEVELS ("ram4 tight"), VARIANTS ("diff-auto diff-none uniform-auto
# magnitude-auto"), LIMIT_TRAIN (6000; 0: all), LIMIT_TEST (2000; 0: all), VAL_FRACTION (0.02),
# OUT (bench/results/patch_levels.md), WORK (bench/work/patch_levels, plus the data settings
# when they are not the defaults).
# Full data at ram4, diff with patches against uniform, 2 seeds (bench/results/patch_ram4_full.md):
#   SEEDS="1 2" LEVELS=ram4 VARIANTS="diff-auto uniform-auto" LIMIT_TRAIN=0 LIMIT_TEST=0 \
#     VAL_FRACTION=0.05 OUT=bench/results/patch_ram4_full.md bench/patch_levels.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
M="$(readlink -f "$BUILD/mcuprune")"
PY=/usr/bin/python3
SEEDS="${SEEDS:-${SEED:-1}}"
MODELS="${MODELS:-vgg resnet8 mobilenetv2}"
LEVELS="${LEVELS:-ram4 tight}"
VARIANTS="${VARIANTS:-diff-auto diff-none uniform-auto magnitude-auto}"
LIMIT_TRAIN="${LIMIT_TRAIN:-6000}"
LIMIT_TEST="${LIMIT_TEST:-2000}"
VAL_FRACTION="${VAL_FRACTION:-0.02}"
OUT="${OUT:-bench/results/patch_levels.md}"
[ -x "$M" ] || { echo "bench: $M not built; run 'make' first" >&2; exit 1; }
for v in $VARIANTS; do
  case "$v" in diff-auto|diff-none|uniform-auto|uniform-none|magnitude-auto|magnitude-none) ;;
    *) echo "bench: VARIANTS: unknown '$v' (METHOD-auto or METHOD-none, METHOD diff, uniform or magnitude)" >&2; exit 2;; esac
done
for l in $LEVELS; do
  case "$l" in ram4|tight) ;; *) echo "bench: LEVELS: unknown '$l' (ram4, tight)" >&2; exit 2;; esac
done
DATA_TAG=""
[ "$LIMIT_TRAIN/$LIMIT_TEST/$VAL_FRACTION" = "6000/2000/0.02" ] || DATA_TAG="-t$LIMIT_TRAIN-e$LIMIT_TEST-v$VAL_FRACTION"
W="${WORK:-bench/work/patch_levels$DATA_TAG}"
mkdir -p "$W" "$(dirname "$OUT")"
run() { local out="${@: -1}"; [ -f "$out/report.json" ] || { rm -rf "$out"; "$M" "$@" > "$out.log" 2>&1 || { echo "failed: $*; see $out.log" >&2; exit 1; }; }; }
C=(--dataset fashion-mnist --epochs 3 --limit-train "$LIMIT_TRAIN" --limit-test "$LIMIT_TEST" --val-fraction "$VAL_FRACTION" --quiet)
total() { "$M" profile --model "$1" --runtime mcuprune --patch none --json | "$PY" -c "import json,sys; print(json.load(sys.stdin)['totals']['$2'])"; }
data_words() { [ "$1" = 0 ] && echo "all" || printf "%'d" "$1"; }
start=$(date +%s)
rows=()
for model in $MODELS; do
  ram=$(total "$model" ram_bytes)
  flash=$(total "$model" flash_bytes)
  for seed in $SEEDS; do
    run train --model "$model" "${C[@]}" --seed "$seed" --out "$W/$model-unpruned-s$seed"
  done
  for level in $LEVELS; do
    if [ "$level" = ram4 ]; then B=(--ram $((ram / 4))); else B=(--ram $((ram / 8)) --flash $((flash / 20))); fi
    for variant in $VARIANTS; do
      for seed in $SEEDS; do
        run prune --model "$model" "${C[@]}" --seed "$seed" "${B[@]}" --runtime mcuprune \
          --method "${variant%-*}" --patch "${variant#*-}" --out "$W/$model-$level-$variant-s$seed"
      done
    done
    rows+=("$("$PY" - "$W" "$model" "$level" "${B[*]}" "$VARIANTS" "$SEEDS" <<'PYEOF'
import json, statistics, sys
w, model, level, budget, variants, seeds = sys.argv[1:7]
seeds = seeds.split()
def rep(name, seed): return json.load(open(f"{w}/{model}-{name}-s{seed}/report.json"))
def acc(values):
    text = f"{statistics.mean(values):.2f}"
    return text if len(values) == 1 else text + " (" + " / ".join(f"{v:.2f}" for v in values) + ")"
cells = [acc([100 * rep("unpruned", s)["accuracy"]["test"] for s in seeds])]
for name in variants.split():
    reports = [rep(f"{level}-{name}", s) for s in seeds]
    notes, plans, peaks = [], [], []
    for r in reports:
        p = r["patch"]["after"]
        plans.append("layer by layer" if p is None else f"{p['rows']}x{p['cols']}@{p['cut']}")
        peaks.append(str(r["resources"]["after"]["peak_sram_bytes"]))
        if not r.get("budgets_met", True): notes.append("over budget")
        if r.get("fallbacks"): notes.append("fallback")
    note = f" ({', '.join(sorted(set(notes)))})" if notes else ""
    cells.append(f"{acc([100 * r['accuracy']['test'] for r in reports])}{note} / {' / '.join(peaks)} / {' / '.join(sorted(set(plans)))}")
print(f"| {model} | {level} ({budget}) | " + " | ".join(cells) + " |")
PYEOF
)")
    echo "${rows[-1]}" >&2
  done
done
seed_words="seed $SEEDS"; [ "$(wc -w <<< "$SEEDS")" -gt 1 ] && seed_words="seeds $SEEDS (cells: the mean, then each seed's)"
header="| model | level (budget) | unpruned"; rule="|---|---|---"
for v in $VARIANTS; do
  name="${v%-*}"; how="${v#*-}"
  if [ "$how" = auto ]; then how="patches (auto)"; else how="layer by layer"; fi
  header+=" | $name, $how"; rule+="|---"
done
{
  echo "# The benchmark's RAM levels with patch plans"
  echo
  echo "Written by \`bench/patch_levels.sh\` ($(date -u +%Y-%m-%d), $(( ($(date +%s) - start) / 60 )) min for the runs not reused)."
  echo "Fashion-MNIST, $(data_words "$LIMIT_TRAIN") training samples ($VAL_FRACTION of the training set for validation) / $(data_words "$LIMIT_TEST") test samples, 3 epochs, $seed_words, \`--runtime mcuprune\`;"
  echo "budgets: 1/4 of the unpruned model's layer-by-layer RAM (ram4), or 1/8 of its RAM and 1/20 of its flash (tight)."
  echo "Each cell: test accuracy % / peak SRAM in bytes as the runtime executes the pruned model / its plan;"
  echo "a run that misses a budget or needed a fallback says so."
  echo
  echo "$header |"
  echo "$rule|"
  printf '%s\n' "${rows[@]}"
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT" >&2
