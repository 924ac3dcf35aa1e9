#!/usr/bin/env bash
# Pruning benchmark (issue 4): vgg on Fashion-MNIST. Train it unpruned for E epochs; then
# prune it from scratch for the same E epochs (same seed, same data) with budgets of 1/8 of
# the unpruned model's RAM (peak activations + runtime data) and 1/20 of its flash.
# Goals: test accuracy within 1.5 points of the unpruned model; prune wall time at most
# the unpruned training's. Writes bench/results/prune_vgg-eE.md and .json.
# Usage: bench/prune_vgg.sh [build dir]   (env: EPOCHS, THREADS)
set -euo pipefail
cd "$(dirname "$0")/.."
M="${1:-build}/mcuprune"
E="${EPOCHS:-3}"
T="${THREADS:-0}"
PY=/usr/bin/python3
[ -x "$M" ] || { echo "bench: $M not built; run 'make' first" >&2; exit 1; }
W=bench/work/prune_vgg-$(date +%Y%m%d-%H%M%S)
mkdir -p "$W" bench/results
get() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval('d'+sys.argv[2]))" "$1" "$2"; }

t0=$(date +%s.%N)
$M train --model vgg --dataset fashion-mnist --epochs "$E" --threads "$T" --quiet --out "$W/unpruned"
t1=$(date +%s.%N)
$M profile --model "$W/unpruned" --board nucleo-f446re --json > "$W/unpruned-profile.json"
ram0=$(get "$W/unpruned-profile.json" "['totals']['ram_bytes']")
peak0=$(get "$W/unpruned-profile.json" "['totals']['peak_sram_bytes']")
flash0=$(get "$W/unpruned-profile.json" "['totals']['flash_bytes']")
ram_b=$((ram0 / 8)); flash_b=$((flash0 / 20))
t2=$(date +%s.%N)
$M prune --model vgg --dataset fashion-mnist --epochs "$E" --threads "$T" --ram "$ram_b" --flash "$flash_b" \
  --quiet --out "$W/pruned" > "$W/prune.out" 2>&1 || { cat "$W/prune.out"; exit 1; }
t3=$(date +%s.%N)
R="$W/pruned/report.json"
acc0=$(get "$W/unpruned/report.json" "['accuracy']['test']")
acc1=$(get "$R" "['accuracy']['test']")
$PY - "$E" "$acc0" "$acc1" "$ram0" "$peak0" "$flash0" "$ram_b" "$flash_b" "$R" "$t0" "$t1" "$t2" "$t3" "$(nproc)" <<'PY'
import json, sys
E, acc0, acc1, ram0, peak0, flash0, ram_b, flash_b, rpath, t0, t1, t2, t3, cores = sys.argv[1:]
r = json.load(open(rpath))
after = r["resources"]["after"]
wall_unpruned, wall_pruned = float(t1) - float(t0), float(t3) - float(t2)
drop = (float(acc0) - float(acc1)) * 100
res = {"epochs": int(E), "cores": int(cores), "test_accuracy_unpruned": float(acc0), "test_accuracy_pruned": float(acc1),
       "accuracy_drop_points": drop, "wall_s_unpruned": wall_unpruned, "wall_s_prune": wall_pruned,
       "ram_bytes_unpruned": int(ram0), "peak_sram_bytes_unpruned": int(peak0), "flash_bytes_unpruned": int(flash0),
       "ram_budget": int(ram_b), "flash_budget": int(flash_b), "ram_bytes_pruned": after["ram_bytes"],
       "peak_sram_bytes_pruned": after["peak_sram_bytes"], "flash_bytes_pruned": after["flash_bytes"],
       "macs_pruned": after["macs"], "budgets_met": r["budgets_met"],
       "goal_accuracy_within_1_5": drop <= 1.5, "goal_wall_time": wall_pruned <= wall_unpruned}
json.dump(res, open(f"bench/results/prune_vgg-e{E}.json", "w"), indent=2)
with open(f"bench/results/prune_vgg-e{E}.md", "w") as f:
    f.write(f"# Pruning benchmark: vgg on Fashion-MNIST, {E} epochs, {cores} cores\n\n")
    f.write("Budgets: 1/8 of the unpruned RAM (peak activations + runtime data) and 1/20 of its flash (nucleo-f446re, cmsis-nn).\n\n")
    f.write("| | unpruned | pruned | budget |\n|---|---|---|---|\n")
    f.write(f"| test accuracy | {float(acc0):.4f} | {float(acc1):.4f} | within 1.5 points: {'met' if drop <= 1.5 else 'NOT met'} ({drop:.2f} points) |\n")
    f.write(f"| wall time (s) | {wall_unpruned:.0f} | {wall_pruned:.0f} | prune <= unpruned: {'met' if wall_pruned <= wall_unpruned else 'NOT met'} |\n")
    f.write(f"| RAM (bytes) | {ram0} | {after['ram_bytes']} | {ram_b} |\n")
    f.write(f"| peak activations (bytes) | {peak0} | {after['peak_sram_bytes']} | |\n")
    f.write(f"| flash (bytes) | {flash0} | {after['flash_bytes']} | {flash_b} |\n")
    f.write(f"| MACs | | {after['macs']} | |\n")
    f.write(f"\nbudgets met: {r['budgets_met']}\n")
print(open(f"bench/results/prune_vgg-e{E}.md").read())
PY
