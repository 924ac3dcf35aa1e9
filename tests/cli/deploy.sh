#!/usr/bin/env bash
# mcuprune export --format c and deploy: a small trained model runs bit-exact on the host and
# on QEMU's emulated Cortex-M4 (mps2-an386), with measured flash, RAM and instructions; a
# model too large for the board fails to link with the overflow named; clear errors.
source "$(dirname "$0")/lib.bash"
M="$MCUPRUNE"
$M train --model tinycnn --dataset fashion-mnist --limit-train 2000 --limit-test 200 --epochs 1 --batch-size 32 \
  --threads 1 --quiet --out "$WORK/m" > "$WORK/train.out" 2>&1 && pass "train a small model" || { fail "train: $(cat "$WORK/train.out")"; finish; }

expect_error "deploy needs a target" "choose where to run: --emulate" $M deploy --model "$WORK/m" --dataset fashion-mnist
expect_error "deploy needs samples" "--samples must be at least 1" \
  $M deploy --model "$WORK/m" --dataset fashion-mnist --host --samples 0

$M export --model "$WORK/m" --format c --dataset fashion-mnist --out "$WORK/c" > "$WORK/c.out" 2>&1 \
  && pass "export --format c" || fail "export --format c: $(cat "$WORK/c.out")"
for f in model.c model.h memory_plan.txt README.md mcuprune_rt/mcuprune_rt.c mcuprune_rt/kernels/conv.c; do
  [ -f "$WORK/c/$f" ] && pass "export wrote $f" || fail "export lacks $f"
done
grep -q "(equal)" "$WORK/c/memory_plan.txt" && pass "arena equals the predicted peak" || fail "plan: $(tail -1 "$WORK/c/memory_plan.txt")"
expect_error "export --format c refuses a used directory" "already exists and is not empty; pass --force" \
  $M export --model "$WORK/m" --format c --dataset fashion-mnist --out "$WORK/c"

$M deploy --model "$WORK/m" --dataset fashion-mnist --host --samples 30 --out "$WORK/h" > "$WORK/h.out" 2>&1 \
  && grep -q "30 test samples, 30 bit-exact" "$WORK/h.out" && pass "host: 30 of 30 bit-exact (DSP path, emulated)" \
  || fail "host deploy: $(cat "$WORK/h.out")"
$M deploy --model "$WORK/m" --dataset fashion-mnist --host --portable --samples 30 --out "$WORK/hp" > "$WORK/hp.out" 2>&1 \
  && grep -q "30 test samples, 30 bit-exact" "$WORK/hp.out" && pass "host: 30 of 30 bit-exact (portable)" \
  || fail "host deploy --portable: $(cat "$WORK/hp.out")"

$M deploy --model "$WORK/m" --dataset fashion-mnist --emulate --samples 5 --out "$WORK/q" > "$WORK/q.out" 2>&1 \
  && grep -q "5 test samples, 5 bit-exact" "$WORK/q.out" && pass "QEMU Cortex-M4: 5 of 5 bit-exact" \
  || fail "emulated deploy: $(cat "$WORK/q.out")"
R="$WORK/q/deploy_report.json"
[ "$(json_get "$R" "['agreement']")" = "1.0" ] && pass "report: agreement 1.0" || fail "report agreement"
python3 - "$R" <<'PY' && pass "report: measured flash within 5% of the prediction, arena = plan, instructions counted" || fail "report measurements: $(cat "$R")"
import json, sys
r = json.load(open(sys.argv[1]))
m, p = r["measured"], r["predicted"]
assert abs(m["flash"]["model_bytes"] - p["model_constant_bytes"]) <= 0.05 * p["model_constant_bytes"], (m, p)
assert abs(m["flash"]["model_bytes"] - p["profile_flash_bytes"]) <= 0.05 * p["profile_flash_bytes"], (m, p)
assert p["profile_runtime"] == "mcuprune" and p["profile_ram_bytes"] == p["arena_bytes"], p
assert m["ram"]["model_bytes"] == p["arena_bytes"] == p["peak_sram_bytes"], (m, p)
assert m["ram"]["stack_high_water_bytes"] > 0 and m["instructions_per_inference"] > p["profile_macs"], (m, p)
assert p["patch"] is not None and p["patch"]["rows"] * p["patch"]["cols"] > 1, p  # tinycnn: auto finds a plan
PY

# Patch plans: the default (auto) above ran tinycnn's first stage in patches; layer by layer,
# one column of row bands (in place) and a grid with window copies run bit-exact too, each
# with the arena the profile predicts for it.
grep -q "first stage: .* patches up to" "$WORK/q.out" && pass "deploy prints the plan it runs" || fail "no plan line: $(cat "$WORK/q.out")"
grep -q "first stage: .* patches up to" "$WORK/c.out" && pass "export --format c prints its plan" || fail "export: $(cat "$WORK/c.out")"
grep -q "model_patch" "$WORK/c/model.c" && pass "export writes the plan's tables" || fail "model.c has no plan"
for spec in none 4x1@conv2 2x3@pool1; do
  $M deploy --model "$WORK/m" --dataset fashion-mnist --emulate --samples 3 --patch "$spec" --out "$WORK/q-$spec" > "$WORK/q-$spec.out" 2>&1 \
    && grep -q "3 test samples, 3 bit-exact" "$WORK/q-$spec.out" || { fail "deploy --patch $spec: $(cat "$WORK/q-$spec.out")"; continue; }
  $M profile --model "$WORK/m" --runtime mcuprune --patch "$spec" --json > "$WORK/p-$spec.json"
  peak=$(json_get "$WORK/p-$spec.json" "['totals']['ram_bytes']")
  arena=$(json_get "$WORK/q-$spec/deploy_report.json" "['measured']['ram']['model_bytes']")
  [ "$peak" = "$arena" ] && pass "QEMU --patch $spec: bit-exact, arena $arena = profile's peak" || fail "--patch $spec: arena $arena, profile $peak"
done
expect_error "export --patch refused for TFLite" "--patch has no effect for --format tflite" \
  $M export --model "$WORK/m" --format tflite --dataset fashion-mnist --patch auto --out "$WORK/x.tflite"
expect_error "a bad cut lists the valid ones" "tensors that can end a stage: conv1, pool1" \
  $M deploy --model "$WORK/m" --dataset fashion-mnist --host --patch 2x2@nope --out "$WORK/bad"

# A board whose flash budget is 1000 bytes: the model's constants cannot fit.
echo '{"base": "nucleo-f446re", "name": "tiny-flash", "flash_bytes": 132072, "reserved_flash_bytes": 131072}' > "$WORK/tiny.json"
expect_error "oversized model fails to link, overflow named" "region MODEL_FLASH overflowed by" \
  $M deploy --model "$WORK/m" --dataset fashion-mnist --emulate --samples 1 --board "$WORK/tiny.json" --out "$WORK/t"
finish
