#!/usr/bin/env bash
# Nothing a user owns is lost: one process per output directory, --force replaces a whole
# directory atomically (and only one mcuprune wrote), every writer needs --force to replace,
# a diverged run writes no non-finite file, write errors are errors.
source "$(dirname "$0")/lib.bash"
M="$(readlink -f "$MCUPRUNE")"
B=(--model tinycnn --dataset fashion-mnist --limit-test 64 --threads 1 --quiet)
T=("${B[@]}" --limit-train 256)

# --- one process per output directory ---
$M train "${B[@]}" --limit-train 30000 --epochs 3 --out "$WORK/busy" 2>/dev/null &
pid=$!
for _ in $(seq 100); do [ -s "$WORK/busy/.mcuprune.lock" ] && break; sleep 0.1; done
expect_error "a second train on the same --out is refused, naming the first" "in use by another mcuprune process (pid $pid" \
  $M train "${T[@]}" --epochs 1 --out "$WORK/busy"
expect_error "a prune on a --out a train holds is refused" "mcuprune train" \
  $M prune "${T[@]}" --epochs 1 --board nucleo-f446re --out "$WORK/busy"
kill -INT $pid; wait $pid
[ -f "$WORK/busy/checkpoint/state.json" ] && pass "the first run kept its checkpoint" || fail "the first run lost its checkpoint"

# --- --force replaces all of it ---
$M train "${T[@]}" --epochs 1 --out "$WORK/r" >/dev/null
$M quantize --model "$WORK/r" --dataset fashion-mnist --limit-test 32 --calibration-samples 16 >/dev/null
[ -f "$WORK/r/quant_report.json" ] && pass "quantize wrote its report into the model" || fail "no quant_report.json"
$M train "${T[@]}" --epochs 1 --out "$WORK/r" --force >/dev/null 2>&1
[ ! -e "$WORK/r/quant_report.json" ] && pass "--force leaves nothing of the old model beside the new one" ||
  fail "--force left quant_report.json of the old model"
ls -A "$WORK" | grep -q "mcuprune-new" && fail "a staging directory was left behind" || pass "no staging directory left"
echo mine > "$WORK/r/notes.txt"
expect_error "--force never removes a file mcuprune did not write" "'notes.txt', which mcuprune does not write" \
  $M train "${T[@]}" --epochs 1 --out "$WORK/r" --force
[ -f "$WORK/r/notes.txt" ] && pass "the user's file is still there" || fail "the user's file is gone"
rm "$WORK/r/notes.txt"

# A --force run killed before it finishes: the old model stays, --resume continues the new run.
$M train "${T[@]}" --epochs 1 --out "$WORK/k" >/dev/null
old=$(md5sum <"$WORK/k/weights.bin")
$M train "${B[@]}" --limit-train 30000 --epochs 2 --out "$WORK/k" --force 2>/dev/null &
pid=$!
for _ in $(seq 300); do [ -f "$WORK/.k.mcuprune-new/checkpoint/state.json" ] && break; sleep 0.1; done
kill -9 $pid; wait $pid 2>/dev/null
[ "$(md5sum <"$WORK/k/weights.bin")" = "$old" ] && pass "a killed --force run leaves the old model" || fail "the old model changed"
$M train --resume "$WORK/k" --quiet >/dev/null 2>"$WORK/k.err"
grep -q "continuing the run started with --force" "$WORK/k.err" && pass "--resume finds the staged run" || fail "--resume: $(cat "$WORK/k.err")"
[ "$(json_get "$WORK/k/report.json" "['config']['limit_train']")" = 30000 ] && pass "the finished run replaced the old model" ||
  fail "the old model is still in place after --resume"

# A user's own checkpoint/ or deploy-*/ folder, or a file that looks like a temporary, is theirs.
mkdir -p "$WORK/mine/checkpoint" "$WORK/mine2/deploy-scripts" "$WORK/mine3"
echo weights > "$WORK/mine/checkpoint/epoch9.pt"
expect_error "a checkpoint/ with files mcuprune did not write is not removed" "'checkpoint', which mcuprune would write over" \
  $M train "${T[@]}" --epochs 1 --out "$WORK/mine"
[ -f "$WORK/mine/checkpoint/epoch9.pt" ] && pass "the user's checkpoint file is kept" || fail "the user's checkpoint file is gone"
cp -r "$WORK/r/." "$WORK/mine2/"
echo flash > "$WORK/mine2/deploy-scripts/flash.sh"
expect_error "--force keeps a deploy-*/ folder mcuprune did not write" "'deploy-scripts', which mcuprune does not write" \
  $M train "${T[@]}" --epochs 1 --out "$WORK/mine2" --force
echo backup > "$WORK/mine3/backup.tmp999999999_1"
$M train "${T[@]}" --epochs 1 --out "$WORK/mine3" >/dev/null 2>&1
[ -f "$WORK/mine3/backup.tmp999999999_1" ] && pass "a file that looks like a temporary is kept" || fail "a user's .tmp file was removed"

# Replacing the working directory, or writing the log into the directory being replaced.
expect_error "--force on the current directory is refused before training" "the current directory" \
  env -C "$WORK/r" "$M" train "${T[@]}" --epochs 1 --out . --force
ls -A "$WORK" | grep -q "^.r.mcuprune-new" && fail "a refused --force left a staging directory" || pass "no staging directory after the refusal"
expect_error "--log-json inside the directory --force replaces" "--log-json '$WORK/r/train.jsonl' is inside" \
  $M train "${T[@]}" --epochs 1 --out "$WORK/r" --force --log-json "$WORK/r/train.jsonl"

# --- every writer: --force to replace; links written through ---
expect_error "models --save does not overwrite" "--save '$WORK/r/model.json' already exists" \
  $M models --show tinycnn --save "$WORK/r/model.json"
$M models --show tinycnn --save "$WORK/r/model.json" --force >/dev/null && pass "models --save --force replaces" || fail "models --save --force"
echo keep > "$WORK/keep.json"
expect_error "deploy --report does not overwrite" "--report '$WORK/keep.json' already exists" \
  $M deploy --model "$WORK/r" --dataset fashion-mnist --host --report "$WORK/keep.json"
[ "$(cat "$WORK/keep.json")" = keep ] && pass "the report file is untouched" || fail "deploy overwrote --report"
ln -s "$WORK/targets/m.onnx" "$WORK/dangling.onnx"
mkdir -p "$WORK/targets"
expect_error "export to a dangling link needs --force" "symbolic link to a missing file" \
  $M export --model "$WORK/r" --format onnx --out "$WORK/dangling.onnx"
$M export --model "$WORK/r" --format onnx --out "$WORK/dangling.onnx" --force >/dev/null
[ -L "$WORK/dangling.onnx" ] && [ -s "$WORK/targets/m.onnx" ] && pass "--force writes through a dangling link" ||
  fail "the link was replaced or its target not written"

# --- --out that is not a directory one can write in ---
touch "$WORK/afile"
expect_error "--out is a file" "is a file, not a directory" $M train "${T[@]}" --epochs 1 --out "$WORK/afile"
expect_error "--out under a file" "'$WORK/afile' is a file" $M train "${T[@]}" --epochs 1 --out "$WORK/afile/sub"
expect_error "--out /dev/null" "is a device" $M prune "${T[@]}" --epochs 1 --board nucleo-f446re --out /dev/null
expect_error "--out in /proc" "/proc/self/x" $M import x.onnx --out /proc/self/x
expect_error "export --format c to a file" "is a file, not a directory" \
  $M export --model "$WORK/r" --format c --dataset fashion-mnist --out "$WORK/afile"

# --- diverged training, write errors ---
expect_error "train --lr 1e30 stops with the epoch and the option" "training diverged in epoch 1" \
  $M train "${T[@]}" --epochs 2 --lr 1e30 --out "$WORK/nan"
[ ! -e "$WORK/nan/weights.bin" ] && pass "no model of a diverged run" || fail "a diverged run wrote weights.bin"
expect_error "QAT --qat-lr 1e30 names --qat-lr" "--qat-lr is 1e+30" \
  $M quantize --model "$WORK/r" --dataset fashion-mnist --limit-train 256 --limit-test 32 --qat-epochs 1 --qat-lr 1e30 \
  --out "$WORK/qnan" --quiet
[ ! -e "$WORK/qnan/weights.bin" ] && pass "no model of a diverged QAT" || fail "a diverged QAT wrote weights.bin"
expect_error "--momentum nan" "--momentum must be a number in [0, 1)" \
  $M train "${T[@]}" --epochs 1 --optimizer sgd --momentum nan --out "$WORK/mom"
expect_error "--log-json /dev/full" "cannot write --log-json '/dev/full'" \
  $M train "${T[@]}" --epochs 1 --log-json /dev/full --out "$WORK/full"
finish
