#!/usr/bin/env bash
# mcuprune prune end to end on a Fashion-MNIST subset: budgets met, report keys, the pruned
# model works with eval and profile, resume, and clear errors for bad sizes and budgets.
source "$(dirname "$0")/lib.bash"
M="$MCUPRUNE"
common=(--model tinycnn --dataset fashion-mnist --limit-train 3000 --limit-test 500 --batch-size 32 --threads 1 --quiet)
expect_error "malformed size shows the forms" "accepted forms: 64KiB, 0.5MiB" \
  $M prune "${common[@]}" --ram 64XB --out "$WORK/x"
expect_error "impossible budget names the resource and the minimum" "the ram budget of 100 B cannot be met" \
  $M prune "${common[@]}" --ram 100 --out "$WORK/y"
$M prune "${common[@]}" --epochs 1 --warmup-epochs 0 --flash 1MiB --out "$WORK/met" > "$WORK/met.out" 2>&1 \
  && grep -q "every budget holds" "$WORK/met.out" && pass "a model that already meets its budgets trains through" \
  || fail "budget already met: $(tail -3 "$WORK/met.out")"
expect_error "no budget" "nothing to prune for" $M prune "${common[@]}" --out "$WORK/z"
expect_error "bad importance" "--importance must be one of" \
  $M prune "${common[@]}" --macs 300k --importance magic --out "$WORK/w"
$M prune "${common[@]}" --epochs 3 --ram 10KiB --flash 20KiB --macs 600k --prune-every 20 \
  --out "$WORK/p" --log-json "$WORK/p.jsonl" > "$WORK/p.out" 2>&1 && pass "prune runs" || { fail "prune failed: $(cat "$WORK/p.out")"; finish; }
grep -q "every budget holds" "$WORK/p.out" && pass "summary says the budgets hold" || fail "summary"
grep -q "RAM (peak + runtime)" "$WORK/p.out" && pass "before/after table" || fail "table"
R="$WORK/p/report.json"
[ "$(json_get "$R" "['budgets_met']")" = True ] && pass "report: budgets met" || fail "budgets_met"
for key in "['resources']['before']['ram_bytes']" "['resources']['after']['flash_bytes']" "['groups'][1]['channels_after']" \
           "['layers'][0]['channels_before']" "['history'][0]['resources']['ram_bytes']" "['accuracy']['test']" "['wall_time_s']" \
           "['budgets'][0]['fits']" "['model_after']['params']"; do
  json_get "$R" "$key" >/dev/null 2>&1 && pass "report has $key" || fail "report lacks $key"
done
[ "$(wc -l < "$WORK/p.jsonl")" = 3 ] && pass "log-json: one line per epoch" || fail "log-json"
[ "$(json_get "$R" "['config']['fold_masks']")" = False ] && pass "the masks are dropped by default" || fail "fold_masks default"
$M prune "${common[@]}" --epochs 2 --macs 600k --fold-masks --out "$WORK/f" > "$WORK/f.out" 2>&1 \
  && [ "$(json_get "$WORK/f/report.json" "['config']['fold_masks']")" = True ] && pass "--fold-masks runs and is recorded" \
  || fail "--fold-masks: $(tail -3 "$WORK/f.out")"
[ "$(json_get "$R" "['config']['width_step']")" = linear ] && [ "$(json_get "$R" "['config']['task_weight']")" = 0.5 ] \
  && pass "the linear width step and task weight 0.5 by default" || fail "width_step/task_weight defaults"
expect_error "bad width step" "--width-step must be linear, relative, even or channel" \
  $M prune "${common[@]}" --macs 300k --width-step sideways --out "$WORK/ws"
expect_error "bad task weight" "--task-weight must be in [0, 100]" \
  $M prune "${common[@]}" --macs 300k --task-weight -1 --out "$WORK/tw"
expect_error "bad width ramp" "--width-ramp must be in [0, 1]" \
  $M prune "${common[@]}" --macs 300k --width-ramp 1.5 --out "$WORK/wr"
[ "$(json_get "$R" "['config']['width_ramp']")" = 0.0 ] && pass "no width ramp by default" || fail "width_ramp default"
ram_after="$(json_get "$R" "['resources']['after']['ram_bytes']")"
[ "$ram_after" -le 10240 ] && pass "RAM after ($ram_after) within 10 KiB" || fail "RAM after $ram_after"
$M eval --model "$WORK/p" --dataset fashion-mnist --limit 500 > /dev/null 2>&1 && pass "eval loads the pruned model" || fail "eval of pruned model"
$M profile --model "$WORK/p" --ram 10KiB --flash 20KiB --no-timeline | grep -q "the model fits" && pass "profile: pruned model fits" || fail "profile of pruned model"
expect_error "existing run is not overwritten" "already holds a pruning run" $M prune "${common[@]}" --macs 300k --out "$WORK/p"
# Resume an interrupted run: stop it with Ctrl-C, then finish it.
$M prune "${common[@]}" --epochs 40 --macs 400k --out "$WORK/i" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 1 150); do [ -f "$WORK/i/checkpoint/prune_state.json" ] && break; sleep 0.2; done
kill -INT $pid; wait $pid; rc=$?
[ $rc -eq 130 ] && pass "Ctrl-C exits 130" || fail "Ctrl-C exit code $rc"
done_epochs="$(json_get "$WORK/i/checkpoint/prune_state.json" "['epochs_completed']")"
$M prune --resume "$WORK/i" --epochs $((done_epochs + 2)) --quiet > "$WORK/i.out" 2>&1 && pass "resume finishes" || fail "resume: $(cat "$WORK/i.out")"
[ "$(json_get "$WORK/i/report.json" "['epochs']")" = $((done_epochs + 2)) ] && pass "resumed at the saved epoch" || fail "resume epochs"
finish
