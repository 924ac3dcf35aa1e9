#!/usr/bin/env bash
# End to end on real Fashion-MNIST (subset): train, report.json keys, eval, resume, Ctrl-C.
source "$(dirname "$0")/lib.bash"
M="$MCUPRUNE"
common=(--model tinycnn --dataset fashion-mnist --limit-train 2000 --limit-test 500 --batch-size 32 --threads 1 --quiet)
$M train "${common[@]}" --epochs 1 --out "$WORK/run" --log-json "$WORK/log.jsonl" > "$WORK/train.out" 2>&1 \
  && pass "train runs" || { fail "train failed: $(cat "$WORK/train.out")"; finish; }
R="$WORK/run/report.json"
for key in "['model']['name']" "['dataset']['name']" "['epochs']" "['accuracy']['train']" "['accuracy']['val']" \
           "['accuracy']['test']" "['model']['params']" "['wall_time_s']" "['history'][0]['val_accuracy']"; do
  json_get "$R" "$key" >/dev/null 2>&1 && pass "report has $key" || fail "report lacks $key"
done
[ "$(json_get "$R" "['epochs']")" = 1 ] && pass "report epochs = 1" || fail "report epochs"
[ "$(json_get "$R" "['dataset']['val_samples']")" = 6000 ] && pass "val split: 10% of the full training set" || fail "val split"
acc="$(json_get "$R" "['accuracy']['test']")"
/usr/bin/python3 -c "import sys; sys.exit(0 if float('$acc') > 0.5 else 1)" && pass "test accuracy $acc > 0.5 after 1 epoch" || fail "test accuracy $acc"
[ "$(wc -l < "$WORK/log.jsonl")" = 1 ] && pass "log-json has one line per epoch" || fail "log-json lines"
for f in model.json weights.bin report.json checkpoint/state.json; do
  [ -f "$WORK/run/$f" ] && pass "wrote $f" || fail "missing $f"
done
ls "$WORK/run" "$WORK/run/checkpoint" | grep -q '\.tmp' && fail "left temporary files" || pass "no temporary files left"
# Eval reproduces the reported test accuracy.
$M eval --model "$WORK/run" --dataset fashion-mnist --limit 500 --json > "$WORK/eval.json" 2>&1 || fail "eval failed"
eacc="$(json_get "$WORK/eval.json" "['accuracy']")"
[ "$eacc" = "$acc" ] && pass "eval accuracy equals train report ($eacc)" || fail "eval $eacc != report $acc"
# Refuses to overwrite an existing run.
expect_error "existing run is not overwritten" "already holds a training run" $M train "${common[@]}" --epochs 1 --out "$WORK/run"
# Resume extends the run to 2 epochs.
$M train --resume "$WORK/run" --epochs 2 --quiet > /dev/null 2>&1 && pass "resume runs" || fail "resume failed"
[ "$(json_get "$R" "['epochs']")" = 2 ] && pass "resumed report has 2 epochs" || fail "resumed epochs"
[ "$(json_get "$R" "['resumed']")" = True ] && pass "report marks resume" || fail "resumed flag"
# Ctrl-C: stops, saves a checkpoint, exits 130; --resume finishes the run.
$M train "${common[@]}" --epochs 30 --out "$WORK/int" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ -f "$WORK/int/checkpoint/state.json" ] && break; sleep 0.2; done
sleep 0.5
kill -INT $pid; wait $pid; rc=$?
[ $rc -eq 130 ] && pass "Ctrl-C exits 130" || fail "Ctrl-C exit code $rc"
[ "$(json_get "$WORK/int/checkpoint/state.json" "['interrupted']")" = True ] && pass "checkpoint marked interrupted" || fail "not marked interrupted"
done_epochs="$(json_get "$WORK/int/checkpoint/state.json" "['epochs_completed']")"
$M train --resume "$WORK/int" --epochs $((done_epochs + 1)) --quiet >/dev/null 2>&1 && pass "resume after Ctrl-C" || fail "resume after Ctrl-C"
[ "$(json_get "$WORK/int/report.json" "['epochs']")" = $((done_epochs + 1)) ] && pass "resumed at the saved epoch" || fail "resume epoch count"
finish
