#!/usr/bin/env bash
# Keyword spotting end to end on the espeak-ng dataset (ctest fixture kws_data, made by
# tests/tools/make_kws_dataset.sh; its path in MCUPRUNE_KWS_DATA): dscnn with its MFCC front end
# trains well above chance (bar: 50% test accuracy; chance is 1/12), is profiled with the front
# end's cost, exports to TFLite (features in) that Arm NN runs, prunes to fit a latency budget on
# the 64 KB nucleo-l432kc, and runs raw clips on QEMU's Cortex-M4 with the device's features
# within the tolerance of the host's; bad audio input gets clear errors.
source "$(dirname "$0")/lib.bash"
M="$MCUPRUNE"
TA="$2"
[ -d "${MCUPRUNE_KWS_DATA:-}" ] || { fail "MCUPRUNE_KWS_DATA is not a directory (the make_kws_dataset fixture makes it)"; finish; }
cp -r "$MCUPRUNE_KWS_DATA" "$WORK/data"
rm -rf "$WORK/data/.mcuprune-cache"
D="$WORK/data"

$M train --model dscnn --dataset "$D" --epochs 20 --lr 0.003 --threads 2 --quiet --out "$WORK/m" > "$WORK/train.out" 2>&1 \
  && pass "train dscnn on the audio folder" || { fail "train: $(cat "$WORK/train.out")"; finish; }
acc=$(json_get "$WORK/m/report.json" "['accuracy']['test']")
/usr/bin/python3 -c "import sys; sys.exit(0 if $acc >= 0.5 else 1)" \
  && pass "test accuracy $acc >= 0.5 (chance 0.083)" || fail "test accuracy $acc is below the 0.5 bar"
[ "$(json_get "$WORK/m/report.json" "['model']['input']")" = "[1, 16000, 1]" ] \
  && pass "the model takes 1 s of raw audio" || fail "model input: $(json_get "$WORK/m/report.json" "['model']['input']")"
grep -q '"op": "mfcc"' "$WORK/m/model.json" && pass "model.json has the mfcc front end" || fail "no mfcc node in model.json"
[ -d "$D/.mcuprune-cache" ] && pass "features cached in the dataset folder" || fail "no feature cache"
grep -q "computed" "$WORK/train.out" && pass "first read computes the features" || fail "train output: $(cat "$WORK/train.out")"

$M eval --model "$WORK/m" --dataset "$D" > "$WORK/eval.out" 2>&1 && grep -q "from the cache" "$WORK/eval.out" \
  && pass "eval reads the cached features" || fail "eval: $(cat "$WORK/eval.out")"

$M profile --model "$WORK/m" --board nucleo-l432kc --runtime mcuprune --no-timeline > "$WORK/p.out" 2>&1 \
  && grep -q "MFCC" "$WORK/p.out" && pass "profile lists the front end" || fail "profile: $(cat "$WORK/p.out")"
$M profile --model "$WORK/m" --board nucleo-l432kc --runtime mcuprune --json > "$WORK/p.json" 2>/dev/null
fe_flash=$(json_get "$WORK/p.json" "['operators'][0]['flash_bytes']")
fe_live=$(json_get "$WORK/p.json" "['operators'][0]['live_bytes']")
[ "$fe_flash" -gt 4000 ] && [ "$fe_live" -ge 32490 ] \
  && pass "the front end's tables ($fe_flash B flash) and its int16 clip + features ($fe_live B) are counted" \
  || fail "front end costs: flash $fe_flash, live $fe_live"

$M export --model "$WORK/m" --format tflite --dataset "$D" --out "$WORK/m.tflite" > "$WORK/t.out" 2>&1 \
  && pass "export tflite" || fail "export tflite: $(cat "$WORK/t.out")"
out=$("$TA" "$WORK/m.tflite" "$WORK/m" "$D" 0 2>/dev/null) && tacc=$(/usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])['accuracy'])" "$out") \
  && /usr/bin/python3 -c "import sys; sys.exit(0 if abs($tacc - $acc) <= 0.1 else 1)" \
  && pass "Arm NN runs the .tflite on the 49x10x1 features: accuracy $tacc (float $acc)" || fail "tflite on Arm NN: $out"
$M export --model "$WORK/m" --format onnx --out "$WORK/m.onnx" > "$WORK/o.out" 2>&1 \
  && pass "export onnx (features in)" || fail "export onnx: $(cat "$WORK/o.out")"

$M prune --model dscnn --dataset "$D" --board nucleo-l432kc --latency-ms 60 --epochs 12 --lr 0.003 --threads 2 --quiet \
  --out "$WORK/p" > "$WORK/prune.out" 2>&1 && grep -q "every budget holds" "$WORK/prune.out" \
  && pass "prune fits dscnn to nucleo-l432kc under 60 ms" || fail "prune: $(cat "$WORK/prune.out")"

$M deploy --model "$WORK/p" --dataset "$D" --board nucleo-l432kc --emulate --samples 20 --out "$WORK/q" > "$WORK/q.out" 2>&1 \
  && grep -q "within the tolerance" "$WORK/q.out" && pass "QEMU: the device's features are within the tolerance" \
  || fail "deploy --emulate: $(cat "$WORK/q.out")"
[ -f "$WORK/q/features.bin" ] && [ "$(stat -c %s "$WORK/q/features.bin")" -eq $((20 * 490)) ] \
  && pass "the firmware wrote 20 clips' features" || fail "features.bin: $(ls -la "$WORK/q")"

$M train --model dscnn --dataset "$D" --augment-audio --epochs 2 --lr 0.003 --threads 2 --quiet --out "$WORK/aug" \
  > "$WORK/aug.out" 2>&1 && grep -q "kept the" "$WORK/aug.out" && [ "$(json_get "$WORK/aug/report.json" "['config']['augment_audio']")" = True ] \
  && pass "train --augment-audio keeps the clips and records the option" || fail "augment-audio: $(cat "$WORK/aug.out")"
expect_error "--augment-audio on images" "needs an audio dataset" \
  $M train --model tinycnn --dataset fashion-mnist --augment-audio --epochs 1 --limit-train 100 --quiet --out "$WORK/x5"
# Bring your own features: an .npz file trains, prunes and deploys like any dataset.
/usr/bin/python3 - "$WORK/f.npz" <<'PY'
import sys, numpy as np
r = np.random.default_rng(0)
def part(n):
    y = np.arange(n) % 3
    x = r.normal(size=(n, 16, 8, 1)).astype(np.float32) + y[:, None, None, None]
    return x, y
xt, yt = part(300); xs, ys = part(60)
np.savez_compressed(sys.argv[1], x_train=xt, y_train=yt, x_test=xs, y_test=ys)
PY
$M prune --model tinycnn --dataset "$WORK/f.npz" --board nucleo-l432kc --epochs 3 --threads 2 --quiet --out "$WORK/n" \
  > "$WORK/n.out" 2>&1 && grep -q "every budget holds" "$WORK/n.out" && pass "prune on an .npz dataset" || fail "npz prune: $(cat "$WORK/n.out")"
$M deploy --model "$WORK/n" --dataset "$WORK/f.npz" --host --samples 20 --out "$WORK/nq" > "$WORK/nq.out" 2>&1 \
  && grep -q "20 test samples, 20 bit-exact" "$WORK/nq.out" && pass "deploy (host) on an .npz dataset: 20 of 20 bit-exact" \
  || fail "npz deploy: $(cat "$WORK/nq.out")"

expect_error "an unknown keyword names the words" "its words are:" \
  $M train --model dscnn --dataset "$D" --keywords yes,maybe --epochs 1 --out "$WORK/x1"
expect_error "--keywords on an image dataset" "apply to audio datasets" \
  $M train --model tinycnn --dataset fashion-mnist --keywords yes --epochs 1 --out "$WORK/x2"
expect_error "an audio model needs the clips to deploy" "starts with an audio front end" \
  $M deploy --model "$WORK/m" --dataset fashion-mnist --host --samples 2 --out "$WORK/x3"
cp -r "$D" "$WORK/bad"
printf 'RIFF garbage' > "$WORK/bad/yes/ffffffff_nohash_0.wav"
expect_error "a corrupt clip names its file" "ffffffff_nohash_0.wav" \
  $M train --model dscnn --dataset "$WORK/bad" --epochs 1 --out "$WORK/x4"
finish
