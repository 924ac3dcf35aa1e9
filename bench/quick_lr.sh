#!/usr/bin/env bash
# Quick mode's learning rate per model (bench/methods.py, MODE_DEFAULTS["quick"]["lr"]): the
# unpruned training of each model at each of LRS (Adam), with quick mode's data and epochs and
# seeds 1..SEEDS. MODE=standard asks the same question at standard mode's settings (2 seeds;
# bench/results/standard_lr.md), reusing the benchmark's own unpruned trainings at the rate they
# were trained with. The rate chosen is the one with the higher mean validation accuracy (the 2%
# split carved from the training set; the test set is not looked at); the table also gives how
# many seeds agree and, for information, the test accuracy. Runs that finished
# (bench/work/quick_lr/MODEL-lrLR-sSEED/report.json) are reused.
# Writes OUT (default bench/results/MODE_lr.md).
# Usage: bench/quick_lr.sh [build dir]   (env: MODE, MODELS, LRS, SEEDS, THREADS, OUT)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
M="$(readlink -f "$BUILD/mcuprune")"
PY=/usr/bin/python3
MODELS="${MODELS:-vgg resnet8 mobilenetv2}"
LRS="${LRS:-0.001 0.003}"
MODE="${MODE:-quick}"
case "$MODE" in quick) SEEDS="${SEEDS:-3}" ;; standard) SEEDS="${SEEDS:-2}" ;; *) echo "MODE: quick or standard" >&2; exit 2 ;; esac
THREADS="${THREADS:-$(nproc)}"
OUT="${OUT:-bench/results/${MODE}_lr.md}"
[ -x "$M" ] || { echo "bench: $M not built; run 'make' first" >&2; exit 1; }
W=bench/work/${MODE}_lr
mkdir -p "$W" "$(dirname "$OUT")"
# The mode's data and epochs (bench/methods.py MODE_DEFAULTS).
read -r EPOCHS LIMIT VAL <<< "$($PY -c "import sys; sys.path.insert(0, 'bench'); import methods
d = methods.MODE_DEFAULTS['$MODE']; print(d['epochs'], d['limit_train'], d['val_fraction'])")"
C=(--dataset fashion-mnist --epochs "$EPOCHS" --val-fraction "$VAL" --threads "$THREADS" --quiet --no-html)
[ "$LIMIT" = 0 ] || C+=(--limit-train "$LIMIT")
# Standard mode's unpruned trainings are the same command at the rate in their report: taken
# from its work folder rather than trained again.
for model in $MODELS; do
  for s in $(seq 1 "$SEEDS"); do
    src=bench/work/methods-$MODE/$model/unpruned-s$s
    [ "$MODE" = standard ] && [ -f "$src/report.json" ] || continue
    rate="$($PY -c "import json; print(json.load(open('$src/report.json'))['config']['lr'])")"
    for lr in $LRS; do
      if [ "$rate" = "$lr" ] && [ ! -e "$W/$model-lr$lr-s$s" ]; then cp -r "$src" "$W/$model-lr$lr-s$s"; fi
    done
  done
done
for model in $MODELS; do
  for lr in $LRS; do
    for s in $(seq 1 "$SEEDS"); do
      d="$W/$model-lr$lr-s$s"
      [ -f "$d/report.json" ] && continue
      echo "train $model lr $lr seed $s" >&2
      "$M" train --model "$model" "${C[@]}" --lr "$lr" --seed "$s" --out "$d" --force > /dev/null
    done
  done
done
$PY - "$W" "$OUT" "$SEEDS" "$MODELS" "$LRS" "$EPOCHS" "$LIMIT" "$VAL" "$MODE" <<'EOF'
import json, statistics, sys, datetime
work, out, seeds, models, lrs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(), sys.argv[5].split()
epochs, limit, val_fraction, mode = sys.argv[6], sys.argv[7], float(sys.argv[8]), sys.argv[9]
acc = lambda m, lr, s, split: 100 * json.load(open(f"{work}/{m}-lr{lr}-s{s}/report.json"))["accuracy"][split]
rows, chosen = [], []
for m in models:
    val = {lr: [acc(m, lr, s, "val") for s in range(1, seeds + 1)] for lr in lrs}
    test = {lr: [acc(m, lr, s, "test") for s in range(1, seeds + 1)] for lr in lrs}
    best = max(lrs, key=lambda lr: statistics.mean(val[lr]))
    chosen.append(f"{m}:{best}")
    for lr in lrs:
        agree = sum(all(val[lr][i] >= val[o][i] for o in lrs) for i in range(seeds))
        sd = statistics.stdev(test[lr]) if seeds > 1 else 0.0
        rows.append(f"| {m} | {lr} | {statistics.mean(val[lr]):.2f} | {' / '.join(f'{v:.2f}' for v in val[lr])} | "
                    f"{agree} of {seeds} | {statistics.mean(test[lr]):.2f} | {sd:.2f} | {'**chosen**' if lr == best else ''} |")
data = f"{limit} training samples" if limit != "0" else "all training samples"
lines = [f"# {mode.capitalize()} mode's learning rate per model", "",
         f"Unpruned training (Adam, cosine schedule), Fashion-MNIST, {mode} mode's data ({data}; {100 * val_fraction:g}% of the",
         f"training set held out for validation; all test samples), {epochs} epochs, seeds 1..{seeds}; {datetime.date.today()}.",
         f"Command: {'MODE=standard ' if mode == 'standard' else ''}bench/quick_lr.sh. Chosen: the rate with the higher mean validation accuracy; \"best on\": the seeds",
         "whose validation accuracy is highest at that rate. Test accuracy is given for information only.", "",
         "| model | lr | val acc % (mean) | per seed | best on | test acc % (mean) | test SD (points) | |",
         "|---|---|---|---|---|---|---|---|"] + rows + ["",
         f"The rates selected, as bench/methods.py's option: `--lr {','.join(chosen)}`", ""]
open(out, "w").write("\n".join(lines))
print(f"wrote {out}", file=sys.stderr)
EOF
