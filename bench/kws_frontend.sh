#!/usr/bin/env bash
# Keyword spotting costs (make bench-kws): the MFCC front end per 1 s clip on the host (clips/s,
# decoding included, from a cold feature cache) and on the Cortex-M4 (QEMU instruction count of
# the front end operator, per 20 ms frame; target <= 60,000 so that a 20 ms stride costs under
# 1 ms at 80 MHz), and the expected duration of a full Speech Commands v2 run on this machine,
# from the training time per sample measured here. Writes bench/results/kws_frontend.md.
#   bench/kws_frontend.sh [BUILD_DIR] [DATA]   (DATA: a Speech Commands folder; default: the
#   espeak-ng set, made once in bench/work/kws-data)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
M="$BUILD/mcuprune"
PY=/usr/bin/python3
DATA="${2:-}"
WORKDIR="$ROOT/bench/work/kws"
OUT="$ROOT/bench/results/kws_frontend.md"
mkdir -p "$WORKDIR"
if [ -z "$DATA" ]; then
  DATA="$ROOT/bench/work/kws-data"
  [ -d "$DATA" ] || bash "$ROOT/tests/tools/make_kws_dataset.sh" "$DATA" 6
fi
EPOCHS=${EPOCHS:-20}

# Host: a cold cache (the copy has none), features computed on every core.
rm -rf "$WORKDIR/data" "$WORKDIR/m" "$WORKDIR/q"
cp -r "$DATA" "$WORKDIR/data"
rm -rf "$WORKDIR/data/.mcuprune-cache"
"$M" train --model dscnn --dataset "$WORKDIR/data" --epochs "$EPOCHS" --lr 0.003 --quiet --out "$WORKDIR/m" \
  > "$WORKDIR/train.out" 2>&1
host=$(grep -o "features of [0-9]* clips computed in [0-9.]* s ([0-9]* clips/s on [0-9]* threads" "$WORKDIR/train.out")
clips_per_s=$(sed 's/.*(\([0-9]*\) clips\/s.*/\1/' <<<"$host")
threads=$(sed 's/.* on \([0-9]*\) threads.*/\1/' <<<"$host")
# Training time per sample and epoch (dscnn, batch 64, all cores).
read -r train_s samples acc < <("$PY" -c "
import json; r = json.load(open('$WORKDIR/m/report.json'))
print(r['train_time_s'], r['dataset']['train_samples'], r['accuracy']['test'])")
per_sample_ms=$("$PY" -c "print(round(1000 * $train_s / ($EPOCHS * $samples), 3))")
# --augment-audio runs the front end again for every sample drawn, on the training thread.
aug_ms=$("$PY" -c "print(round($per_sample_ms + 1000 * $threads / $clips_per_s, 3))")

# Device: the front end's instructions on QEMU (the first operator of the deployed model).
"$M" deploy --model "$WORKDIR/m" --dataset "$WORKDIR/data" --board nucleo-l432kc --emulate --samples 20 \
  --out "$WORKDIR/q" > "$WORKDIR/deploy.out" 2>&1
read -r clip_insns frame_insns tol < <("$PY" -c "
import json; r = json.load(open('$WORKDIR/q/deploy_report.json'))
fe = [o for o in r['measured']['operators'] if o['kind'] == 'MFCC'][0]
print(round(fe['instructions']), round(fe['instructions'] / 49), r['front_end']['within_tolerance'])")

# A full Speech Commands v2 run, the reference task's epochs (MLPerf Tiny trains 36): the
# features of every clip once, then 36 epochs over the training split. Counts from the
# dataset's paper (Warden 2018, v2): 105,829 clips, 38,546 of them the ten keywords; the
# 12-class training split is estimated as 80% of those (the hash split's share) plus 10%
# silence and 10% unknown: 37,004 (FULL_TRAIN_SAMPLES overrides it).
CLIPS=105829
TRAIN=${FULL_TRAIN_SAMPLES:-37004}
FULL_EPOCHS=36
read -r fe_min train_h total_h aug_h < <("$PY" -c "
fe = $CLIPS / $clips_per_s / 60
tr = $FULL_EPOCHS * $TRAIN * $per_sample_ms / 1000 / 3600
au = $FULL_EPOCHS * $TRAIN * $aug_ms / 1000 / 3600
print(round(fe, 1), round(tr, 2), round(fe / 60 + tr, 2), round(fe / 60 + au, 2))")

{
  echo "# Keyword spotting: front-end cost and the duration of a full run"
  echo
  echo "Made by \`bench/kws_frontend.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores; dataset: $(basename "$DATA"), $(find "$WORKDIR/data" -name '*.wav' | wc -l) clips)."
  echo
  echo "| measure | value |"
  echo "|---|---|"
  echo "| host front end, cold cache | $clips_per_s clips/s on $threads threads (decoding with libsndfile included) |"
  echo "| Cortex-M4 front end (QEMU, -icount) | $clip_insns instructions per 1 s clip, **$frame_insns per 20 ms frame** (target <= 60,000) |"
  echo "| device features within the tolerance (99% equal, 1 step, 99% same class) | $tol |"
  echo "| dscnn training, per sample and epoch | $per_sample_ms ms ($samples samples, $EPOCHS epochs, test accuracy $acc) |"
  echo "| full Speech Commands v2: features of $CLIPS clips once | $fe_min min |"
  echo "| full Speech Commands v2: $FULL_EPOCHS epochs over $TRAIN training samples | $train_h h |"
  echo "| full run, expected | **$total_h h** |"
  echo "| full run with --augment-audio (the front end again per sample: $aug_ms ms per sample) | $aug_h h |"
  echo
  echo "The frame count includes the clip's peak scan (16,000 samples once per clip, spread over its"
  echo "49 frames). The training time per sample is this machine's, for the espeak-ng clips; the"
  echo "full-run figure multiplies it out, so it assumes the same per-sample cost on the real data."
} > "$OUT"
cat "$OUT"
