#!/usr/bin/env bash
# mcuprune profile / boards: output, JSON keys, and clear errors for bad input.
source "$(dirname "$0")/lib.bash"
M="$MCUPRUNE"
out="$($M profile --model resnet8 --input 32x32x3 --board nucleo-f446re)" && pass "profile runs" || fail "profile failed"
grep -q "<- peak" <<<"$out" && pass "bottleneck marked" || fail "no bottleneck mark"
grep -q "memory timeline" <<<"$out" && pass "timeline shown" || fail "no timeline"
grep -q "the model fits" <<<"$out" && pass "fits verdict" || fail "no verdict"
$M profile --model resnet8 --input 32x32x3 --json > "$WORK/p.json" || fail "profile --json failed"
for key in "['totals']['macs']" "['totals']['flash_bytes']" "['totals']['peak_sram_bytes']" \
           "['totals']['peak_sram_optimal_order_bytes']" "['totals']['latency_ms']" "['operators'][0]['live_bytes']" \
           "['execution_order']" "['budgets'][0]['fits']" "['board']['clock_mhz']"; do
  json_get "$WORK/p.json" "$key" >/dev/null 2>&1 && pass "json has $key" || fail "json lacks $key"
done
[ "$(json_get "$WORK/p.json" "['totals']['macs']")" = 12501632 ] && pass "resnet8 MACs" || fail "resnet8 MACs"
# Budgets given as options: 5M MACs is too few for resnet8; exit status stays 0 (a report, not an error).
$M profile --model resnet8 --input 32x32x3 --macs 5M --ram 64KiB --no-timeline | grep -q "macs .*OVER" \
  && pass "MAC budget reported over" || fail "MAC budget"
expect_error "unknown board lists boards" "built-in boards: nucleo-f446re" $M profile --model tinycnn --board nosuch
echo '{"name": "x", "clock_mhz": 10, "sram_bytes": 1000, "flash_bytes": 5000, "colour": 1}' > "$WORK/b.json"
expect_error "board file with unknown key" "unknown key 'colour'" $M profile --model tinycnn --board "$WORK/b.json"
echo '{"name": "x", ' > "$WORK/bad.json"
expect_error "malformed board file" "not valid JSON" $M profile --model tinycnn --board "$WORK/bad.json"
echo '{"base": "rp2040", "name": "my-rp2040", "reserved_ram_bytes": 100000}' > "$WORK/ok.json"
$M profile --model tinycnn --board "$WORK/ok.json" --no-timeline | grep -q "my-rp2040" && pass "custom board from base" || fail "custom board"
echo '{"format":"mcuprune-model","version":1,"nodes":[{"name":"input","op":"input","shape":[8,8,1]},{"name":"a","op":"conv2d","inputs":["input"],"out_channels":4,"kernel":3,"padding":"same"},{"name":"b","op":"conv2d","inputs":["input"],"out_channels":5,"kernel":3,"padding":"same"},{"name":"s","op":"add","inputs":["a","b"]}]}' > "$WORK/m.json"
expect_error "model failing shape inference" "s (add): inputs must have equal shapes" $M profile --model "$WORK/m.json"
expect_error "malformed size" "accepted forms" $M profile --model tinycnn --ram 64XB
expect_error "ambiguous size shows both readings" "65,536 bytes" $M profile --model tinycnn --ram 64KB
"$M" profile --model tinycnn --board nucleo-f446re --reserve-ram 100KiB --no-timeline | grep -q "of     28.0 KiB (board)" \
  && pass "--reserve-ram changes the RAM budget" || fail "--reserve-ram"
expect_error "reservation larger than the board" "must be less than the board's SRAM" \
  $M profile --model tinycnn --board nucleo-f446re --reserve-ram 200KiB
# Patch-based execution of the first stage.
out=$($M profile --model vgg --runtime mcuprune --patch auto --no-timeline) || fail "profile --patch auto failed"
grep -q "^patch stage: .* up to 'pool1'" <<<"$out" && pass "--patch auto plans vgg's first stage" || fail "no plan for vgg"
grep -q "(patch stage)" <<<"$out" && pass "stage rows marked" || fail "stage rows not marked"
$M profile --model vgg --runtime mcuprune --patch 4x4@pool1 --json > "$WORK/patch.json" || fail "profile --patch RxC@T"
[ "$(json_get "$WORK/patch.json" "['patch']['rows']")" = 4 ] && pass "a fixed plan's grid" || fail "fixed plan grid"
[ "$(json_get "$WORK/patch.json" "['patch']['cut']")" = pool1 ] && pass "a fixed plan's cut" || fail "fixed plan cut"
[ "$(json_get "$WORK/patch.json" "['totals']['peak_sram_bytes']")" = "$(json_get "$WORK/patch.json" "['patch']['peak_bytes']")" ] \
  && pass "the plan's peak is the profile's" || fail "plan peak not used"
$M profile --model vgg --runtime tflm --patch auto --no-timeline | grep -q "executes layer by layer" \
  && pass "a TFLite runtime says it runs layer by layer" || fail "no note for tflm"
expect_error "unknown cut lists the valid ones" "tensors that can end a stage: conv1_1" \
  $M profile --model vgg --runtime mcuprune --patch 2x2@nosuch
expect_error "grid larger than the cut" "rows must be in [1, 14]" $M profile --model vgg --runtime mcuprune --patch 15x1@pool1
expect_error "malformed --patch" "expected none, auto or RxC@TENSOR" $M profile --model vgg --runtime mcuprune --patch 4x4
expect_error "cut that is not a stage end" "cannot end a patch stage" $M profile --model vgg --runtime mcuprune --patch 1x1@logits
$M boards | grep -q "rp2040" && pass "boards lists rp2040" || fail "boards"
[ "$($M boards --json | grep -c '"name"')" = 8 ] && pass "boards --json has 8 boards" || fail "boards --json"
finish
