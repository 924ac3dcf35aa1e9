#!/usr/bin/env bash
# mcuprune import and --model X.onnx: a PyTorch-made ONNX model (tests/fixtures/make_onnx.py)
# imports, profiles, prunes from its trained weights and exports; clear errors for a missing,
# truncated or unsupported file.
source "$(dirname "$0")/lib.bash"
M="$MCUPRUNE"
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
/usr/bin/python3 "$SRC/tests/fixtures/make_onnx.py" "$WORK/fx" > "$WORK/fx.log" 2>&1 && pass "PyTorch fixtures" \
  || { fail "fixture script: $(tail -5 "$WORK/fx.log")"; finish; }
X="$WORK/fx/mlp_head.onnx"
$M import "$X" --out "$WORK/imp" > "$WORK/imp.out" 2>&1 && [ -f "$WORK/imp/model.json" ] && [ -f "$WORK/imp/weights.bin" ] \
  && pass "import writes a model directory" || fail "import: $(cat "$WORK/imp.out")"
$M profile --model "$X" --board nucleo-f446re --no-timeline > "$WORK/p.out" 2>&1 && grep -q "MACs" "$WORK/p.out" \
  && pass "profile --model X.onnx" || fail "profile onnx: $(cat "$WORK/p.out")"
$M prune --model "$X" --dataset fashion-mnist --limit-train 600 --limit-test 200 --epochs 1 --warmup-epochs 0 \
  --batch-size 32 --threads 1 --quiet --flash 8KiB --out "$WORK/pr" > "$WORK/pr.out" 2>&1 \
  && pass "prune --model X.onnx (from its weights)" || fail "prune onnx: $(cat "$WORK/pr.out")"
$M eval --model "$X" --dataset fashion-mnist --limit 100 > "$WORK/ev.out" 2>&1 && grep -qi "accuracy" "$WORK/ev.out" \
  && pass "eval --model X.onnx" || fail "eval onnx: $(cat "$WORK/ev.out")"
$M train --model "$X" --dataset fashion-mnist --limit-train 300 --limit-test 100 --epochs 1 --batch-size 32 --threads 1 \
  --quiet --out "$WORK/tr" > "$WORK/tr.out" 2>&1 && [ -f "$WORK/tr/weights.bin" ] && grep -q '"pixels"' "$WORK/tr/model.json" \
  && pass "train --model X.onnx continues from its weights and keeps its interface" || fail "train onnx: $(cat "$WORK/tr.out")"
$M export --model "$WORK/pr" --format onnx --out "$WORK/pr.onnx" > "$WORK/e.out" 2>&1 \
  && $M profile --model "$WORK/pr.onnx" --no-timeline > /dev/null 2>&1 && pass "the pruned model exports to ONNX and re-imports" \
  || fail "export/re-import: $(cat "$WORK/e.out")"
$M import "$WORK/pr.onnx" --out "$WORK/reimp" > /dev/null 2>&1 \
  && grep -q '"input": "pixels"' "$WORK/reimp/model.json" && grep -q '"output": "scores"' "$WORK/reimp/model.json" \
  && pass "the pruned export keeps the original input and output names (pixels, scores)" \
  || fail "names: $(grep -A4 onnx_interface "$WORK/reimp/model.json")"
$M export --model "$WORK/pr" --format tflite --dataset fashion-mnist --calibration-samples 100 --out "$WORK/pr.tflite" > "$WORK/t.out" 2>&1 && [ -s "$WORK/pr.tflite" ] \
  && pass "the pruned import exports to TFLite" || fail "tflite: $(cat "$WORK/t.out")"
$M import "$X" --input-mean 0.286 --input-std 0.353 --out "$WORK/impn" > /dev/null 2>&1 \
  && grep -A3 '"input_normalization"' "$WORK/impn/model.json" | grep -q 0.286 \
  && pass "import --input-mean/--input-std keeps the model's normalisation" || fail "normalisation not saved"
expect_error "a mean without a std" "go together" $M import "$X" --input-mean 0.5 --out "$WORK/impm"
expect_error "missing file" "does not exist" $M profile --model "$WORK/none.onnx"
head -c 1000 "$X" > "$WORK/trunc.onnx"
expect_error "truncated file" "trunc.onnx" $M profile --model "$WORK/trunc.onnx"
expect_error "import into a used directory" "already holds a model" $M import "$X" --out "$WORK/imp"
finish
