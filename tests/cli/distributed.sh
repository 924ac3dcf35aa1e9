#!/usr/bin/env bash
# Data-parallel training and pruning on torch's c10d (Gloo), docs/distributed.md: two workers
# with batch B train (and prune to) the model one process trains with batch 2B (the same
# architecture, weights within float tolerance); the
# --dist-url flags work as the torchrun variables do; a killed worker ends the run on the other
# with a clear error within a bounded time and the checkpoint resumes; Ctrl-C reaches every
# worker once; a resume with another worker count and bad settings are clear errors.
source "$(dirname "$0")/lib.bash"
M="$MCUPRUNE"
PY=/usr/bin/python3
common=(--model tinycnn --dataset fashion-mnist --limit-test 200 --val-fraction 0.1 --optimizer sgd --lr 0.01 --momentum 0 --quiet)


# One step: 36 samples, 32 to train (one global batch of 2 x 16 or 1 x 32).
$M launch --nproc 2 -- train "${common[@]}" --limit-train 36 --epochs 1 --threads 1 --batch-size 16 --out "$WORK/s2" \
  > "$WORK/s2.out" 2>&1 || fail "launch, one step: $(tail -5 "$WORK/s2.out")"
$M train "${common[@]}" --limit-train 36 --epochs 1 --threads 1 --batch-size 32 --out "$WORK/s1" > "$WORK/s1.out" 2>&1 \
  || fail "one process, one step: $(tail -5 "$WORK/s1.out")"
d=$(weights_diff "$WORK/s2" "$WORK/s1")
below "$d" 1e-4 && pass "one step: 2 workers x batch 16 = 1 process x batch 32 (weights differ by $d)" \
  || fail "one step: 2 workers x 16 and 1 x 32 differ by $d"

# Two epochs (20 steps): float rounding compounds as it does between one process's thread
# counts; the difference must stay within that order (x3, or 2% of the largest weight).
run2() { "$@" "${common[@]}" --limit-train 360 --epochs 2 > "$WORK/run2.out" 2>&1 || fail "$*: $(tail -5 "$WORK/run2.out")"; }
run2 $M launch --nproc 2 -- train --threads 1 --batch-size 16 --out "$WORK/two"
run2 $M train --threads 1 --batch-size 32 --out "$WORK/one"
run2 $M train --threads 2 --batch-size 32 --out "$WORK/one-t2"
d=$(weights_diff "$WORK/two" "$WORK/one"); t=$(weights_diff "$WORK/one-t2" "$WORK/one")
bound=$($PY -c "print(max(3 * $t, 0.02))")
below "$d" "$bound" && pass "two epochs: 2 x 16 against 1 x 32 differ by $d; 1 against 2 threads by $t" \
  || fail "two epochs: 2 x 16 against 1 x 32 differ by $d, more than $bound (1 against 2 threads: $t)"
[ "$(json_get "$WORK/two/report.json" "['workers']")" = 2 ] && [ "$(json_get "$WORK/two/report.json" "['global_batch_size']")" = 32 ] \
  && pass "report: 2 workers, global batch 32" || fail "report lacks workers/global_batch_size"
a=$(json_get "$WORK/two/report.json" "['accuracy']['test']"); b=$(json_get "$WORK/one/report.json" "['accuracy']['test']")
below "$($PY -c "print(abs($a - $b))")" 0.0101 && pass "test accuracy: $a and $b" || fail "test accuracy: 2 workers $a, one process $b"
[ "$(ls "$WORK/two" | sort | tr '\n' ' ')" = "$(ls "$WORK/one" | sort | tr '\n' ' ')" ] \
  && pass "rank 0 alone wrote the run directory (the same files as one process)" || fail "files: $(ls "$WORK/two")"

# The flags, as on two machines (here both on 127.0.0.1).
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$M train "${common[@]}" --limit-train 200 --epochs 1 --batch-size 16 --dist-url "tcp://127.0.0.1:$port" --world-size 2 --rank 1 \
  --out "$WORK/flags" > "$WORK/flags1.out" 2>&1 &
r1=$!
$M train "${common[@]}" --limit-train 200 --epochs 1 --batch-size 16 --dist-url "tcp://127.0.0.1:$port" --world-size 2 --rank 0 \
  --out "$WORK/flags" > "$WORK/flags0.out" 2>&1; s0=$?
wait $r1; s1=$?
[ $s0 -eq 0 ] && [ $s1 -eq 0 ] && [ "$(json_get "$WORK/flags/report.json" "['workers']")" = 2 ] \
  && pass "--dist-url/--world-size/--rank" || fail "flags: $s0/$s1 $(tail -3 "$WORK/flags0.out") $(tail -3 "$WORK/flags1.out")"

# A worker killed mid-run: the other stops with "worker lost" within the timeout, the launcher
# exits non-zero, and the last checkpoint resumes with the same worker count.
$M launch --nproc 2 --grace 60 -- train "${common[@]}" --limit-train 6000 --epochs 4 --threads 1 --batch-size 16 --dist-timeout 20 \
  --out "$WORK/k" > "$WORK/k.out" 2>&1 &
launcher=$!
for _ in $(seq 600); do [ -f "$WORK/k/checkpoint/state.json" ] && break; sleep 0.1; done
rank1=$(pgrep -P $launcher | sort -n | tail -1)
if [ -f "$WORK/k/checkpoint/state.json" ] && [ -n "$rank1" ]; then
  t0=$(date +%s.%N); kill -9 "$rank1"; wait $launcher; st=$?; t1=$(date +%s.%N)
  took=$($PY -c "print(round($t1 - $t0, 1))")
  [ $st -ne 0 ] && $PY -c "import sys; sys.exit(0 if $took < 45 else 1)" \
    && pass "a killed worker ends the run in ${took} s (status $st)" || fail "after a kill: status $st in ${took} s"
  grep -q "worker lost" "$WORK/k.out" && pass "the other worker says: worker lost" || fail "no 'worker lost': $(tail -5 "$WORK/k.out")"
  expect_error "resume with another worker count" "was written by a run of 2 worker(s); resume it with 2" \
    $M train --resume "$WORK/k" --quiet
  $M launch --nproc 2 -- train --resume "$WORK/k" --quiet > "$WORK/k2.out" 2>&1 \
    && [ "$(json_get "$WORK/k/report.json" "['epochs']")" = 4 ] && pass "the checkpoint resumes with 2 workers" \
    || fail "resume after the kill: $(tail -5 "$WORK/k2.out")"
else
  kill $launcher 2> /dev/null; wait $launcher; fail "no checkpoint or no worker to kill: $(tail -5 "$WORK/k.out")"
fi

# Ctrl-C (SIGINT to the launcher) reaches every worker once: they stop at the same step and
# rank 0 saves an interrupted checkpoint that resumes.
$M launch --nproc 2 -- train "${common[@]}" --limit-train 6000 --epochs 3 --threads 1 --batch-size 16 --out "$WORK/c" > "$WORK/c.out" 2>&1 &
launcher=$!
for _ in $(seq 600); do [ -f "$WORK/c/checkpoint/state.json" ] && break; sleep 0.1; done
sleep 1; kill -INT $launcher; wait $launcher; st=$?
[ $st -eq 130 ] && [ "$(json_get "$WORK/c/checkpoint/state.json" "['interrupted']")" = True ] \
  && pass "Ctrl-C: every worker stops, status 130, interrupted checkpoint" || fail "Ctrl-C: status $st $(tail -5 "$WORK/c.out")"

# Two runs on one --out: the second's rank 0 is refused by the first's lock, and its other
# worker says that rank 0 stopped (not "worker lost").
$M launch --nproc 2 -- train "${common[@]}" --limit-train 6000 --epochs 3 --threads 1 --batch-size 16 --out "$WORK/o" > "$WORK/o1.out" 2>&1 &
launcher=$!
for _ in $(seq 600); do [ -f "$WORK/o/checkpoint/state.json" ] && break; sleep 0.1; done
$M launch --nproc 2 -- train "${common[@]}" --limit-train 6000 --epochs 3 --threads 1 --batch-size 16 --out "$WORK/o" > "$WORK/o2.out" 2>&1; st=$?
kill -INT $launcher; wait $launcher
[ $st -ne 0 ] && grep -q "is in use by another mcuprune process" "$WORK/o2.out" && grep -q "rank 0 stopped before the run began" "$WORK/o2.out" \
  && ! grep -q "worker lost" "$WORK/o2.out" && pass "two runs on one --out: the second is refused (status $st)" \
  || fail "two runs on one --out: status $st, $(cat "$WORK/o2.out")"

expect_error "--world-size alone" "--dist-url, --world-size and --rank go together" \
  $M train "${common[@]}" --world-size 2 --out "$WORK/e1"
expect_error "a rank outside the world" "--rank must be less than --world-size (2), got 2" \
  $M train "${common[@]}" --dist-url tcp://127.0.0.1:29999 --world-size 2 --rank 2 --out "$WORK/e2"
expect_error "--world-size 0" "--world-size must be from 1 to 4096 (the number of workers), got 0" \
  $M train "${common[@]}" --dist-url tcp://127.0.0.1:29999 --world-size 0 --rank 0 --out "$WORK/e0"
# Rank 0's port taken by another program: the rendezvous says so (within --dist-timeout).
$PY - "$M" "$WORK" <<'PY' && pass "rank 0's port in use: a clear error" || fail "port in use: no clear error"
import socket, subprocess, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); port = s.getsockname()[1]
r = subprocess.run([sys.argv[1], "train", "--model", "tinycnn", "--dataset", "fashion-mnist", "--limit-train", "100",
                    "--quiet", "--dist-url", "tcp://127.0.0.1:%d" % port, "--world-size", "2", "--rank", "0",
                    "--dist-timeout", "5", "--out", sys.argv[2] + "/e-port"], capture_output=True, text=True, timeout=60)
sys.exit(0 if r.returncode != 0 and "cannot join the workers" in r.stderr and "Address already in use" in r.stderr else 1)
PY
# A master nobody serves: rank 1 gives up within --dist-timeout with a clear error.
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
t0=$(date +%s)
expect_error "an unreachable master" "cannot join the workers at 127.0.0.1:$port as rank 1 of 2" \
  timeout 60 $M train "${common[@]}" --dist-url "tcp://127.0.0.1:$port" --world-size 2 --rank 1 --dist-timeout 5 --out "$WORK/e-master"
[ $(($(date +%s) - t0)) -lt 30 ] && pass "the unreachable master is reported within the timeout" || fail "unreachable master took $(($(date +%s) - t0)) s"
expect_error "a bad --dist-url" "--dist-url must be tcp://HOST:PORT" \
  $M train "${common[@]}" --dist-url 127.0.0.1:29999 --world-size 2 --rank 0 --out "$WORK/e3"
expect_error "torchrun variables half set" "missing: MASTER_ADDR MASTER_PORT" \
  env WORLD_SIZE=2 RANK=0 $M train "${common[@]}" --out "$WORK/e4"
expect_error "launch runs train or prune" "launch runs train or prune (data-parallel); \"eval\" runs as one process" \
  $M launch --nproc 2 -- eval --model tinycnn --dataset fashion-mnist

# Data-parallel pruning: 2 workers x 16 prune to the same architecture as 1 process x 32 (rank
# 0's surgery decisions, broadcast; gate and width gradients summed), with weights within the
# float tolerance of one process's thread counts, and every budget met. Short runs: later
# decisions amplify float rounding (one process with 1 and 2 threads can also part there), so
# the weights are bounded by 5 times what 1 against 2 threads of one process differ by.
for meth in diff magnitude; do
  pc=("${common[@]}" --ram 8KiB --limit-train 300 --epochs 2 --warmup-epochs 0 --finetune-epochs 1 --method "$meth")
  run2() { "$@" > "$WORK/p.out" 2>&1 || fail "$*: $(tail -5 "$WORK/p.out")"; }
  run2 $M launch --nproc 2 -- prune "${pc[@]}" --threads 1 --batch-size 16 --out "$WORK/p2-$meth"
  run2 $M prune "${pc[@]}" --threads 1 --batch-size 32 --out "$WORK/p1-$meth"
  run2 $M prune "${pc[@]}" --threads 2 --batch-size 32 --out "$WORK/p1t-$meth"
  widths() { $PY -c "import json,sys; r=json.load(open(sys.argv[1])); print([(l['name'], l['channels_after']) for l in r['layers']], r['budgets_met'])" "$1/report.json"; }
  w2=$(widths "$WORK/p2-$meth"); w1=$(widths "$WORK/p1-$meth")
  [ "$w2" = "$w1" ] && [ "${w2##* }" = True ] && pass "prune $meth: 2 x 16 and 1 x 32 reach the same architecture, budgets met" \
    || fail "prune $meth: architectures differ or miss the budget: $w2 / $w1"
  d=$(weights_diff "$WORK/p2-$meth" "$WORK/p1-$meth"); t=$(weights_diff "$WORK/p1t-$meth" "$WORK/p1-$meth")
  bound=$($PY -c "print(max(5 * $t, 0.02))")
  below "$d" "$bound" && pass "prune $meth: weights of 2 x 16 and 1 x 32 differ by $d; 1 and 2 threads by $t" \
    || fail "prune $meth: 2 x 16 against 1 x 32 differ by $d, more than $bound (1 against 2 threads: $t)"
done
# The loop's fallback (a pruning phase too short for the budget) on 2 workers: the same
# decision as one process, recorded once.
fc=("${common[@]}" --ram 5KiB --limit-train 120 --epochs 2 --warmup-epochs 0 --alpha-lr 0.01 --threads 1)
$M launch --nproc 2 -- prune "${fc[@]}" --batch-size 16 --out "$WORK/f2" > "$WORK/f2.out" 2>&1 || fail "fallback, 2 workers: $(tail -3 "$WORK/f2.out")"
$M prune "${fc[@]}" --batch-size 32 --out "$WORK/f1" > "$WORK/f1.out" 2>&1 || fail "fallback, 1 process: $(tail -3 "$WORK/f1.out")"
fb() { $PY -c "import json,sys; r=json.load(open(sys.argv[1])); print([f['kind'] + ': ' + f['detail'] for f in r['fallbacks']], r['budgets_met'])" "$1/report.json"; }
f2=$(fb "$WORK/f2"); f1=$(fb "$WORK/f1")
[ "$f2" = "$f1" ] && [ "${f2##* }" = True ] && grep -q "greedy-fit" <<< "$f2" \
  && pass "the fallback on 2 workers takes one process's decision: $f2" || fail "fallback: 2 workers $f2, 1 process $f1"

[ "$(json_get "$WORK/p2-diff/report.json" "['workers']")" = 2 ] && [ "$(json_get "$WORK/p2-diff/report.json" "['global_batch_size']")" = 32 ] \
  && pass "prune report: 2 workers, global batch 32" || fail "prune report lacks workers/global_batch_size"

# A pruning run stopped by Ctrl-C resumes with 2 workers (and only with 2).
$M launch --nproc 2 -- prune "${common[@]}" --ram 8KiB --limit-train 3000 --epochs 3 --threads 1 --batch-size 16 \
  --out "$WORK/pc" > "$WORK/pc.out" 2>&1 &
launcher=$!
for _ in $(seq 600); do [ -f "$WORK/pc/checkpoint/prune_state.json" ] && break; sleep 0.1; done
kill -INT $launcher; wait $launcher; st=$?
[ $st -eq 130 ] && pass "prune: Ctrl-C stops both workers (130)" || fail "prune Ctrl-C: status $st $(tail -5 "$WORK/pc.out")"
expect_error "prune resume with another worker count" "was written by a run of 2 worker(s); resume it with 2" \
  $M prune --resume "$WORK/pc" --quiet
$M launch --nproc 2 -- prune --resume "$WORK/pc" --quiet > "$WORK/pc2.out" 2>&1 \
  && [ "$(json_get "$WORK/pc/report.json" "['epochs']")" = 3 ] && [ "$(json_get "$WORK/pc/report.json" "['budgets_met']")" = True ] \
  && pass "the pruning checkpoint resumes with 2 workers and the budget holds" || fail "prune resume: $(tail -5 "$WORK/pc2.out")"
finish
