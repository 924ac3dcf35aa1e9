#!/usr/bin/env bash
# End to end: train a small model, export it to TFLite and ONNX (float and QDQ), and the
# errors: missing calibration data, unsupported attributes, unwritable files.
source "$(dirname "$0")/lib.bash"
M="$MCUPRUNE"
common=(--dataset fashion-mnist --limit-train 1000 --limit-test 200 --batch-size 32 --threads 1 --quiet --epochs 1)
$M train --model tinycnn "${common[@]}" --out "$WORK/run" > "$WORK/train.out" 2>&1 \
  && pass "train runs" || { fail "train failed: $(cat "$WORK/train.out")"; finish; }

$M export --model "$WORK/run" --format tflite --dataset fashion-mnist --calibration-samples 100 \
  --out "$WORK/out/m.tflite" > "$WORK/export.out" 2>&1 && pass "tflite export runs" || fail "tflite export: $(cat "$WORK/export.out")"
[ "$(dd if="$WORK/out/m.tflite" bs=1 skip=4 count=4 2>/dev/null)" = TFL3 ] && pass "tflite file identifier TFL3" || fail "no TFL3 identifier"
grep -q "peak-optimal order for nucleo-f446re" "$WORK/export.out" && pass "export names the order's board" || fail "export summary"
# The exported file, run by Arm NN on real test images, is as accurate as the integer
# reference says (same calibration). Compounded 1-LSB differences moved at most 4 of 1000
# images in bench/results/export_armnn.md; allow 2 of these 200.
TA="$2"
$M quantize --model "$WORK/run" --dataset fashion-mnist --calibration-samples 100 --limit-test 200 \
  --report "$WORK/quant.json" > /dev/null 2>&1 || fail "quantize failed"
"$TA" "$WORK/out/m.tflite" "$WORK/run" fashion-mnist 200 > "$WORK/armnn.json" 2> "$WORK/armnn.err" || fail "Arm NN run: $(cat "$WORK/armnn.err")"
ref="$(json_get "$WORK/quant.json" "['accuracy']['int8']")"
got="$(json_get "$WORK/armnn.json" "['accuracy']")"
/usr/bin/python3 -c "import sys; sys.exit(0 if abs($ref - $got) <= 0.0101 and $got > 0.5 else 1)" \
  && pass "Arm NN accuracy of the .tflite ($got) matches the int8 reference ($ref)" || fail "Arm NN accuracy $got vs reference $ref"
$M export --model "$WORK/run" --format tflite --float-io --dataset fashion-mnist --out "$WORK/out/f.tflite" > /dev/null 2>&1 \
  && [ "$(stat -c %s "$WORK/out/f.tflite")" -gt "$(stat -c %s "$WORK/out/m.tflite")" ] \
  && pass "--float-io adds quantize/dequantize" || fail "--float-io export"
$M export --model "$WORK/run" --format onnx --out "$WORK/out/m.onnx" > /dev/null 2>&1 && pass "onnx float export" || fail "onnx float export"
$M export --model "$WORK/run" --format onnx --variant int8 --dataset fashion-mnist --out "$WORK/out/q.onnx" > /dev/null 2>&1 \
  && pass "onnx int8 export" || fail "onnx int8 export"
# The int8 ONNX model holds int8 weights: much smaller than the float one.
[ "$(stat -c %s "$WORK/out/q.onnx")" -lt "$(( $(stat -c %s "$WORK/out/m.onnx") / 2 ))" ] && pass "QDQ model stores int8 weights" || fail "QDQ size"

# Quantisation-aware fine-tuning: a folded model that exports like any other, whose
# .tflite run by Arm NN agrees with the integer reference of the fine-tuned weights.
$M quantize --model "$WORK/run" --dataset fashion-mnist --calibration-samples 100 --limit-test 200 --limit-train 1000 \
  --qat-epochs 1 --batch-size 32 --threads 1 --quiet --out "$WORK/qat" > "$WORK/qat.out" 2>&1 \
  && pass "quantize --qat-epochs runs" || fail "quantize --qat-epochs: $(cat "$WORK/qat.out")"
grep -q "after 1 epoch(s) of quantisation-aware fine-tuning" "$WORK/qat.out" && pass "QAT summary line" || fail "QAT summary"
json_get "$WORK/qat/quant_report.json" "['qat']['int8']" > /dev/null 2>&1 && pass "QAT report has qat.int8" || fail "QAT report"
grep -q '"batchnorm"' "$WORK/qat/model.json" && fail "QAT model is not folded" || pass "QAT model is folded"
$M export --model "$WORK/qat" --format tflite --dataset fashion-mnist --calibration-samples 100 --out "$WORK/out/qat.tflite" \
  > /dev/null 2>&1 || fail "export of the QAT model"
"$TA" "$WORK/out/qat.tflite" "$WORK/qat" fashion-mnist 200 > "$WORK/armnn-qat.json" 2> "$WORK/armnn-qat.err" || fail "Arm NN QAT run"
ref="$(json_get "$WORK/qat/quant_report.json" "['qat']['int8']")"
got="$(json_get "$WORK/armnn-qat.json" "['accuracy']")"
/usr/bin/python3 -c "import sys; sys.exit(0 if abs($ref - $got) <= 0.0101 and $got > 0.5 else 1)" \
  && pass "Arm NN accuracy of the QAT .tflite ($got) matches its int8 reference ($ref)" || fail "Arm NN QAT $got vs $ref"
expect_error "QAT needs --out" "give --out DIR" $M quantize --model "$WORK/run" --dataset fashion-mnist --qat-epochs 1
expect_error "QAT --out must be new" "already holds a model" \
  $M quantize --model "$WORK/run" --dataset fashion-mnist --qat-epochs 1 --out "$WORK/qat"
expect_error "negative --qat-epochs" "--qat-epochs must be >= 0" $M quantize --model "$WORK/run" --dataset fashion-mnist --qat-epochs -1

# Errors.
expect_error "int8 export without data" "needs --dataset" $M export --model "$WORK/run" --format tflite --out "$WORK/x.tflite"
expect_error "no calibration samples" "--calibration-samples must be >= 1" \
  $M export --model "$WORK/run" --format tflite --dataset fashion-mnist --calibration-samples 0 --out "$WORK/x.tflite"
expect_error "unknown format" "--format" $M export --model "$WORK/run" --format coreml --out "$WORK/x"
expect_error "--float-io is TFLite-only" "--float-io applies to --format tflite" \
  $M export --model "$WORK/run" --format onnx --float-io --out "$WORK/x.onnx"
touch "$WORK/afile"
expect_error "unwritable output" "afile" $M export --model "$WORK/run" --format onnx --out "$WORK/afile/m.onnx"
mkdir -p "$WORK/ro" && chmod 555 "$WORK/ro"
if [ "$(id -u)" -ne 0 ]; then
  expect_error "read-only directory" "ro/m.onnx" $M export --model "$WORK/run" --format onnx --out "$WORK/ro/m.onnx"
fi
ls "$WORK/ro" "$WORK/out" | grep -q '\.tmp' && fail "left temporary files" || pass "no half-written files left"

# Explicit padding SAME cannot express becomes a PAD operator before the conv.
cat > "$WORK/pad.json" <<'J'
{"format": "mcuprune-model", "version": 1, "name": "padnet",
 "nodes": [
  {"name": "input", "op": "input", "shape": [28, 28, 1]},
  {"name": "c", "op": "conv2d", "inputs": ["input"], "out_channels": 4, "kernel": [3, 3],
   "padding": "explicit", "pads": [2, 0, 1, 0], "activation": "relu"},
  {"name": "g", "op": "global_avgpool", "inputs": ["c"]},
  {"name": "f", "op": "flatten", "inputs": ["g"]},
  {"name": "d", "op": "dense", "inputs": ["f"], "out_channels": 10}]}
J
$M train --model "$WORK/pad.json" "${common[@]}" --out "$WORK/pad" > "$WORK/pad.out" 2>&1 || fail "train padnet: $(cat "$WORK/pad.out")"
$M export --model "$WORK/pad" --format tflite --dataset fashion-mnist --out "$WORK/pad.tflite" > "$WORK/padx.out" 2>&1 \
  && pass "explicit padding exports to TFLite (a PAD operator)" || fail "tflite explicit padding: $(cat "$WORK/padx.out")"
$M profile --model "$WORK/pad" --runtime tflm | grep -q "c.pad  *PAD" && pass "profile under TFLM lists the PAD" \
  || fail "profile without the PAD"
# An average pool's explicit padding TFLite cannot express: export and profile (TFLite runtime)
# refuse it with the same words; ONNX and mcuprune's runtime take it.
cat > "$WORK/avg.json" <<'J'
{"format": "mcuprune-model", "version": 1, "name": "avgnet",
 "nodes": [
  {"name": "input", "op": "input", "shape": [28, 28, 1]},
  {"name": "c", "op": "conv2d", "inputs": ["input"], "out_channels": 4, "kernel": [3, 3], "padding": "same"},
  {"name": "a", "op": "avgpool", "inputs": ["c"], "kernel": [3, 3], "stride": [2, 2],
   "padding": "explicit", "pads": [1, 1, 1, 1]},
  {"name": "f", "op": "flatten", "inputs": ["a"]},
  {"name": "d", "op": "dense", "inputs": ["f"], "out_channels": 10}]}
J
$M train --model "$WORK/avg.json" "${common[@]}" --out "$WORK/avg" > "$WORK/avg.out" 2>&1 || fail "train avgnet: $(cat "$WORK/avg.out")"
why="a (avgpool): explicit padding (top 1, bottom 1, left 1, right 1) cannot be written in TFLite"
expect_error "explicit average-pool padding names node, format and why" "$why" \
  $M export --model "$WORK/avg" --format tflite --dataset fashion-mnist --out "$WORK/avg.tflite"
[ -e "$WORK/avg.tflite" ] && fail "a failed export left a file" || pass "a failed export leaves no file"
expect_error "profile under a TFLite runtime refuses it the same way" "$why" $M profile --model "$WORK/avg" --runtime tflm
$M profile --model "$WORK/avg" --runtime mcuprune > /dev/null 2>&1 && pass "mcuprune's runtime takes it" || fail "profile mcuprune"
$M export --model "$WORK/avg" --format onnx --out "$WORK/avg.onnx" > /dev/null 2>&1 && pass "ONNX expresses explicit padding" || fail "onnx explicit padding"
# Nothing a user made is replaced silently: an existing export needs --force; a device stays a device.
expect_error "an existing export needs --force" "pass --force" \
  $M export --model "$WORK/run" --format onnx --out "$WORK/out/m.onnx"
$M export --model "$WORK/run" --format onnx --out "$WORK/out/m.onnx" --force > /dev/null 2>&1 \
  && pass "--force replaces an export" || fail "--force export"
$M export --model "$WORK/run" --format onnx --out /dev/null > /dev/null 2>&1 && [ -c /dev/null ] \
  && pass "export to /dev/null leaves the device in place" || fail "/dev/null"
expect_error "train over a run needs --force" "pass --force to start over" \
  $M train --model tinycnn "${common[@]}" --out "$WORK/run"
finish
