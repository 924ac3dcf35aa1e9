#!/usr/bin/env bash
# Defaults and values mean what they say: every command runs with --epochs 1; a value that
# would be accepted without effect, or wrapped, is a clear error naming the option; messages
# say what is wrong and what to do.
source "$(dirname "$0")/lib.bash"
M="$MCUPRUNE"
T=(--model tinycnn --dataset fashion-mnist --limit-train 256 --limit-test 64 --threads 1 --quiet)

# --- every command with --epochs 1 (defaults adapt: no warm-up in a 1-epoch prune) ---
$M train "${T[@]}" --epochs 1 --out "$WORK/t1" >/dev/null && pass "train --epochs 1" || fail "train --epochs 1"
for method in diff uniform magnitude dpf unaware; do
  if $M prune "${T[@]}" --epochs 1 --method $method --flash 64KiB --out "$WORK/p-$method" >/dev/null 2>"$WORK/err"; then
    pass "prune --epochs 1 --method $method"
  else
    fail "prune --epochs 1 --method $method: $(cat "$WORK/err")"
  fi
done
[ "$(json_get "$WORK/p-diff/report.json" "['config']['warmup_epochs']")" = 0 ] && pass "1-epoch prune: no warm-up, said in the report" ||
  fail "1-epoch prune: warm-up not 0 in the report"
$M quantize --model "$WORK/t1" --dataset fashion-mnist --limit-train 256 --limit-test 32 --qat-epochs 1 --out "$WORK/q1" \
  --quiet >/dev/null && pass "quantize --qat-epochs 1" || fail "quantize --qat-epochs 1"
expect_error "an explicit warm-up that leaves no pruning epoch names both options" "--warmup-epochs 1 leaves no epoch for pruning with --epochs 1" \
  $M prune "${T[@]}" --epochs 1 --warmup-epochs 1 --flash 64KiB --out "$WORK/w"

# --- values accepted without effect, or wrapped ---
expect_error "--finetune-epochs 100" "--finetune-epochs 100 leaves no epoch for pruning" \
  $M prune "${T[@]}" --epochs 4 --finetune-epochs 100 --flash 64KiB --out "$WORK/f1"
expect_error "--finetune-epochs -2" "--finetune-epochs must be >= 0, or -1" \
  $M prune "${T[@]}" --epochs 4 --finetune-epochs -2 --flash 64KiB --out "$WORK/f2"
expect_error "--ram ''" "--ram '' is not a valid size" $M prune "${T[@]}" --epochs 2 --ram "" --out "$WORK/f3"
expect_error "--ram '' in profile" "--ram '' is not a valid size" $M profile --model tinycnn --ram ""
expect_error "--latency-ms 0 is not 'no budget'" "--latency-ms must be a number of milliseconds > 0" \
  $M prune "${T[@]}" --epochs 2 --latency-ms 0 --out "$WORK/f4"
expect_error "--augment-crop beyond the image" "--augment-crop 100000 pads the 28x28 images" \
  $M train "${T[@]}" --epochs 1 --augment-crop 100000 --out "$WORK/f5"
expect_error "--seed -1 is not wrapped" "--seed '-1' must be a whole number" $M train "${T[@]}" --epochs 1 --seed -1 --out "$WORK/f6"
expect_error "--timeout -5" "--timeout must be at least 1 second" \
  $M deploy --model "$WORK/t1" --dataset fashion-mnist --host --timeout -5
echo '{"base": "nucleo-f446re", "reserved_ram_bytes": 4096}' > "$WORK/noname.json"
expect_error "a board file without a name" "\"name\" is required" $M profile --model tinycnn --board "$WORK/noname.json"
expect_error "--round-to beyond every group names --round-to" "--round-to 1000000 leaves nothing to prune" \
  $M prune "${T[@]}" --epochs 2 --round-to 1000000 --flash 64KiB --out "$WORK/f7"
expect_error "--qat-lr nan names --qat-lr" "--qat-lr must be a finite number" \
  $M quantize --model "$WORK/t1" --dataset fashion-mnist --qat-epochs 1 --qat-lr nan --out "$WORK/f8"
for d in f1 f2 f3 f4 f5 f6 f7 f8; do
  [ -e "$WORK/$d" ] && fail "a refused command left its --out '$d' behind"
done
pass "no refused command left an output directory"

# --- messages that must not mislead ---
$M models --show tinycnn --save "$WORK/arch.json" >/dev/null
expect_error "export of an architecture file" "is an architecture file without weights" \
  $M export --model "$WORK/arch.json" --format onnx --out "$WORK/x.onnx"
expect_error "--input-std '' is named, not 'go together'" "--input-std ''" \
  $M import "$WORK/none.onnx" --input-mean 0.5 --input-std "" --out "$WORK/imp"
expect_error "--input-mean alone" "--input-mean is given without --input-std" \
  $M import "$WORK/none.onnx" --input-mean 0.5 --out "$WORK/imp"
help="$($M prune --help)"
for refused in 64KB 2MB; do
  grep -q "$refused," <<<"$help" && fail "prune --help offers $refused, which --ram refuses" || pass "prune --help does not offer $refused"
done
grep -q "Counts (--macs): 200k" <<<"$help" && pass "prune --help puts 200k under counts" || fail "prune --help: 200k"
echo '{"format":"mcuprune-model","version":1,"nodes":[{"name":"input","op":"input","shape":[28,28,1]},{"name":"c","op":"conv2d","inputs":["input"],"out_channels":2147483648,"kernel":3}]}' > "$WORK/big.json"
expect_error "out_channels 2^31 shown as given" "'out_channels' is 2147483648" $M profile --model "$WORK/big.json"
finish
