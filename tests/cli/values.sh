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
expect_error "--ram ''" "--ram: the value is empty" $M prune "${T[@]}" --epochs 2 --ram "" --out "$WORK/f3"
expect_error "--ram '' in profile" "--ram: the value is empty" $M profile --model tinycnn --ram ""
for opt in --input --val-fraction --log-json; do
  expect_error "$opt '' is not 'not given'" "$opt: the value is empty" $M train "${T[@]}" --epochs 1 $opt "" --out "$WORK/f9"
done
expect_error "--runtime '' is not 'not given'" "--runtime: the value is empty" $M profile --model tinycnn --runtime ""
expect_error "an option given twice" "--epochs is given more than once" $M train "${T[@]}" --epochs 1 --epochs 2 --out "$WORK/f9"
expect_error "--weight-decay 1e300" "--weight-decay must be a number in [0, 1]" $M train "${T[@]}" --epochs 1 --weight-decay 1e300 --out "$WORK/f9"
expect_error "--temperature inf" "--temperature must be a number in (0, 1000]" \
  $M prune "${T[@]}" --epochs 2 --temperature inf --flash 64KiB --out "$WORK/f9"
expect_error "--classes 0" "--classes must be at least 1" $M profile --model tinycnn --classes 0
expect_error "--depth 0" "--depth must be 11, 13, 16 or 19" $M profile --model vgg --depth 0
expect_error "--seed 10^18" "--seed '1000000000000000000' must be a whole number" \
  $M train "${T[@]}" --epochs 1 --seed 1000000000000000000 --out "$WORK/f9"
$M profile --model tinycnn --reserve-ram 0 >/dev/null && pass "--reserve-ram 0 is a valid reservation" || fail "--reserve-ram 0 refused"

# --- options given where they have no effect ---
expect_error "--momentum with adam" "--momentum has no effect with --optimizer adam" \
  $M train "${T[@]}" --epochs 1 --momentum 0.5 --out "$WORK/f9"
expect_error "--step-size without the step schedule" "--step-size has no effect with --schedule cosine" \
  $M train "${T[@]}" --epochs 1 --step-size 2 --out "$WORK/f9"
expect_error "--norm with diff" "--norm has no effect with --method diff" \
  $M prune "${T[@]}" --epochs 2 --norm l1 --flash 64KiB --out "$WORK/f9"
expect_error "--dpf-every with uniform" "--dpf-every has no effect with --method uniform" \
  $M prune "${T[@]}" --epochs 2 --method uniform --dpf-every 4 --flash 64KiB --out "$WORK/f9"
expect_error "--temperature with magnitude" "--temperature has no effect with --method magnitude" \
  $M prune "${T[@]}" --epochs 2 --method magnitude --temperature 2 --flash 64KiB --out "$WORK/f9"
expect_error "--width-step with magnitude" "--width-step has no effect with --method magnitude" \
  $M prune "${T[@]}" --epochs 2 --method magnitude --width-step relative --flash 64KiB --out "$WORK/f9"
expect_error "--task-weight with uniform" "--task-weight has no effect with --method uniform" \
  $M prune "${T[@]}" --epochs 2 --method uniform --task-weight 1 --flash 64KiB --out "$WORK/f9"
expect_error "--width-ramp with magnitude" "--width-ramp has no effect with --method magnitude" \
  $M prune "${T[@]}" --epochs 2 --method magnitude --width-ramp 0.5 --flash 64KiB --out "$WORK/f9r"
expect_error "--warmup-epochs -1" "--warmup-epochs must be >= 0" \
  $M prune "${T[@]}" --epochs 2 --warmup-epochs -1 --flash 64KiB --out "$WORK/f9"
expect_error "--qat-lr without --qat-epochs" "--qat-lr has no effect without --qat-epochs" \
  $M quantize --model "$WORK/t1" --dataset fashion-mnist --qat-lr 1e-3
expect_error "--dataset for a float ONNX export" "--dataset has no effect for a float ONNX export" \
  $M export --model "$WORK/t1" --format onnx --dataset fashion-mnist --out "$WORK/f.onnx"
expect_error "--reserve-ram with --ram" "--reserve-ram has no effect with --ram" \
  $M profile --model tinycnn --ram 64KiB --reserve-ram 8KiB
expect_error "models --input without --show" "--input has no effect without --show" $M models --input 32x32x3
[ -e "$WORK/f9" ] && fail "a refused command left --out behind" || pass "no refused command left its --out"

# --- eval scores the split the model's run held out ---
$M train "${T[@]}" --epochs 1 --val-fraction 0.3 --seed 7 --out "$WORK/v" >/dev/null
$M eval --model "$WORK/v" --dataset fashion-mnist --split val --json --report "$WORK/v-eval.json" >/dev/null 2>&1
[ "$(json_get "$WORK/v-eval.json" "['dataset']['samples']")" = 18000 ] && pass "eval --split val takes the run's 30% split" ||
  fail "eval --split val scored $(json_get "$WORK/v-eval.json" "['dataset']['samples']") samples, not the run's 18000"
[ "$(json_get "$WORK/v-eval.json" "['accuracy']")" = "$(json_get "$WORK/v/report.json" "['accuracy']['val']")" ] &&
  pass "eval --split val agrees with the run's own val accuracy" || fail "eval --split val disagrees with the run's report"

# --- models whose output is not one score per class ---
cat > "$WORK/spatial.json" <<'EOF'
{"format":"mcuprune-model","version":1,"nodes":[{"name":"input","op":"input","shape":[28,28,1]},
 {"name":"c","op":"conv2d","inputs":["input"],"out_channels":10,"kernel":16}]}
EOF
expect_error "train of a model ending in a spatial map" "ends in 'c', a 13x13x10 map" \
  $M train --model "$WORK/spatial.json" --dataset fashion-mnist --limit-train 64 --epochs 1 --out "$WORK/sp"

# --- a damaged checkpoint is a clear error ---
$M train "${T[@]}" --epochs 1 --out "$WORK/dmg" >/dev/null
state="$WORK/dmg/checkpoint/state.json"
cp "$state" "$WORK/state.orig"
/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d['epochs_completed']='1'; json.dump(d,open(sys.argv[1],'w'))" "$state"
expect_error "epochs_completed as a string" "epochs_completed must be a whole number" $M train --resume "$WORK/dmg" --epochs 2
cp "$WORK/state.orig" "$state"
/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d['config']['seed']=-1; json.dump(d,open(sys.argv[1],'w'))" "$state"
expect_error "a negative seed in the checkpoint is not wrapped" "\"seed\" must be a whole number >= 0" $M train --resume "$WORK/dmg" --epochs 2
cp "$WORK/state.orig" "$state"
/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); del d['config']; json.dump(d,open(sys.argv[1],'w'))" "$state"
expect_error "a checkpoint without its configuration" "is damaged" $M train --resume "$WORK/dmg" --epochs 2
cp "$WORK/state.orig" "$state"
/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d['version']=2; json.dump(d,open(sys.argv[1],'w'))" "$state"
expect_error "a checkpoint of another format version" "was written by another version of mcuprune (format version 2" \
  $M train --resume "$WORK/dmg" --epochs 2
echo '[1, 2]' > "$state"
expect_error "a checkpoint that is not an object" "is not an mcuprune checkpoint" $M train --resume "$WORK/dmg" --epochs 2
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
expect_error "--input-std '' is named, not 'go together'" "--input-std: the value is empty" \
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
