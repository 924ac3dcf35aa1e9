#!/usr/bin/env bash
# vgg at the tight budget (--ram 4348 --flash 49660, the 1/8-RAM, 1/20-flash level of the issue
# on patch-based execution), full Fashion-MNIST, 3 epochs, --runtime mcuprune: diff with the
# first stage in patches (--patch auto) against layer by layer (--patch none), seeds 1..SEEDS,
# and the unpruned model of the same seeds. Writes bench/results/patch_vgg.md with the
# accuracies and the first stage's widths. Runs that finished (bench/work/patch_vgg/*/report.json)
# are reused. About 3 minutes per pruning run and 5 per unpruned one on 2 cores.
# Usage: bench/patch_vgg.sh [build dir]   (env: SEEDS, EPOCHS)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
M="$(readlink -f "$BUILD/mcuprune")"
PY=/usr/bin/python3
SEEDS="${SEEDS:-2}"
EPOCHS="${EPOCHS:-3}"
[ -x "$M" ] || { echo "bench: $M not built; run 'make' first" >&2; exit 1; }
W=bench/work/patch_vgg
mkdir -p "$W" bench/results
run() { local out="${@: -1}"; [ -f "$out/report.json" ] || { rm -rf "$out"; "$M" "$@"; }; }
C=(--model vgg --dataset fashion-mnist --epochs "$EPOCHS" --quiet)
rows=()
for seed in $(seq 1 "$SEEDS"); do
  run train "${C[@]}" --seed "$seed" --out "$W/unpruned-s$seed"
  for patch in auto none; do
    run prune "${C[@]}" --seed "$seed" --ram 4348 --flash 49660 --runtime mcuprune --patch "$patch" --out "$W/$patch-s$seed"
  done
  rows+=("$("$PY" - "$W" "$seed" <<'PYEOF'
import json, sys
w, seed = sys.argv[1], sys.argv[2]
def rep(name): return json.load(open(f"{w}/{name}-s{seed}/report.json"))
u, a, n = rep("unpruned"), rep("auto"), rep("none")
def widths(r): return "/".join(str(l["channels_after"]) for l in r["layers"] if l["name"] in ("conv1_1", "conv1_2"))
def plan(r):
    p = r["patch"]["after"]
    return "layer by layer" if p is None else f"{p['rows']}x{p['cols']} up to {p['cut']}"
def peak(r): return r["resources"]["after"]["peak_sram_bytes"]
print(f"| {seed} | {100 * u['accuracy']['test']:.2f} | {100 * a['accuracy']['test']:.2f} | {widths(a)} | {plan(a)} | "
      f"{peak(a)} | {100 * n['accuracy']['test']:.2f} | {widths(n)} | {peak(n)} |")
PYEOF
)")
  echo "${rows[-1]}" >&2
done
{
  echo "# vgg at the tight budget: patch-based first stage vs layer by layer"
  echo
  echo "\`mcuprune prune --model vgg --dataset fashion-mnist --epochs $EPOCHS --ram 4348 --flash 49660 --runtime mcuprune"
  echo "--patch auto|none\`, full data, test accuracy in % on the 10,000 test images; $(date -u +%Y-%m-%d);"
  echo "command: bench/patch_vgg.sh. conv1_1/conv1_2: the first stage's widths after pruning (16/16 unpruned)."
  echo "Peak: peak SRAM of the pruned model in bytes, as the runtime would execute it."
  echo
  echo "| seed | unpruned | patches: acc | conv1_1/conv1_2 | plan | peak | layer by layer: acc | conv1_1/conv1_2 | peak |"
  echo "|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} > bench/results/patch_vgg.md
echo "wrote bench/results/patch_vgg.md" >&2
