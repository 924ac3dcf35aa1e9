#!/usr/bin/env bash
# Claim (b), the warm-up epoch: what diff's Taylor salience measurements cost before pruning
# starts. The warm-up epoch's seconds (`history[0].seconds`) of four runs of the same model,
# seed, data and threads, alternating in REPEATS rounds in one sitting:
#   train      plain training (no gates);
#   l2         prune --importance l2 (a warm-up without gates, in the pruning loop);
#   window     prune (diff's default: every 4th step of the warm-up's last 4n steps measures,
#              n = 66 at --salience-decay 0.9);
#   throughout prune --salience-decay 0.999 (n = 6905: every 4th step of the whole warm-up
#              measures, as diff did before the window).
# Each run is 2 epochs (the warm-up, then one pruning epoch) at the level given. The table:
# each variant's median warm-up seconds and its median ratio to train's of the same round.
# Writes bench/results/warmup_speed.md.
# Usage: bench/warmup_speed.sh [build dir]   (env: MODEL, LEVEL, LIMIT, THREADS, REPEATS)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
M="$(readlink -f "$BUILD/mcuprune")"
PY=/usr/bin/python3
MODEL="${MODEL:-vgg}"
LEVEL="${LEVEL:-f446re}"
LIMIT="${LIMIT:-24000}"
THREADS="${THREADS:-$(nproc)}"
REPEATS="${REPEATS:-3}"
[ -x "$M" ] || { echo "bench: $M not built; run 'make' first" >&2; exit 1; }
source bench/lib.sh  # level_budget
W=bench/work/warmup_speed
rm -rf "$W"; mkdir -p "$W" bench/results
read -r -a budget <<< "$(level_budget "$MODEL" "$LEVEL")"
C=(--model "$MODEL" --dataset fashion-mnist --epochs 2 --limit-train "$LIMIT" --limit-test 2000 --val-fraction 0.02
   --threads "$THREADS" --seed 1 --quiet --no-html)
P=(prune "${C[@]}" "${budget[@]}" --warmup-epochs 1 --finetune-epochs 0)
warm() { $PY -c "import json; print(json.load(open('$1/report.json'))['history'][0]['seconds'])"; }
declare -A S
VARIANTS=(train l2 window throughout)
for r in $(seq 1 "$REPEATS"); do
  "$M" train "${C[@]}" --out "$W/train$r" > /dev/null 2>&1
  "$M" "${P[@]}" --importance l2 --out "$W/l2$r" > /dev/null 2>&1
  "$M" "${P[@]}" --out "$W/window$r" > /dev/null 2>&1
  "$M" "${P[@]}" --salience-decay 0.999 --out "$W/throughout$r" > /dev/null 2>&1
  for v in "${VARIANTS[@]}"; do S[$v]+="$(warm "$W/$v$r") "; done
  echo "round $r: $(for v in "${VARIANTS[@]}"; do printf '%s %.1f s  ' "$v" "$(warm "$W/$v$r")"; done)" >&2
done
table=$($PY - "${S[train]}" "${S[l2]}" "${S[window]}" "${S[throughout]}" <<'EOF'
import statistics, sys
cols = [[float(x) for x in a.split()] for a in sys.argv[1:]]
names = ["train (no gates)", "prune --importance l2 (no gates)", "diff, default (the last 4n steps measure)",
         "diff --salience-decay 0.999 (the whole warm-up measures)"]
for name, v in zip(names, cols):
    ratios = [x / t for x, t in zip(v, cols[0])]
    print("| %s | %.2f | %s | %.3f |" % (name, statistics.median(v), " / ".join("%.1f" % x for x in v),
                                         statistics.median(ratios)))
EOF
)
steps=$(( (LIMIT - LIMIT * 2 / 100 + 63) / 64 ))
{
  echo "# Claim (b): the warm-up epoch with and without Taylor salience measurements"
  echo
  echo "$MODEL at level $LEVEL, Fashion-MNIST, $LIMIT training samples (about $steps steps of 64 per epoch), seed 1,"
  echo "$THREADS threads; $REPEATS rounds of the four runs, alternating, in one sitting; $(date -u +%Y-%m-%d)."
  echo "Command: \`bench/warmup_speed.sh\` (MODEL=$MODEL LEVEL=$LEVEL LIMIT=$LIMIT REPEATS=$REPEATS)."
  echo "Seconds of the warm-up epoch (epoch 1 of 2; the same work in every run but for the gates), then"
  echo "the median over the rounds of each run's ratio to the same round's plain training."
  echo
  echo "| run | warm-up epoch s (median) | per round | ratio to train (median) |"
  echo "|---|---|---|---|"
  echo "$table"
} > bench/results/warmup_speed.md
cat bench/results/warmup_speed.md
