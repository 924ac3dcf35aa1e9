#!/usr/bin/env bash
# Data-parallel training on torch's c10d (Gloo), docs/distributed.md: two workers with batch B
# train the model one process trains with batch 2B (same weights within float tolerance); the
# --dist-url flags work as the torchrun variables do; a killed worker ends the run on the other
# with a clear error within a bounded time and the checkpoint resumes; Ctrl-C reaches every
# worker once; a resume with another worker count and bad settings are clear errors.
source "$(dirname "$0")/lib.bash"
M="$MCUPRUNE"
PY=/usr/bin/python3
common=(--model tinycnn --dataset fashion-mnist --limit-test 200 --val-fraction 0.1 --optimizer sgd --lr 0.01 --momentum 0 --quiet)

# Weights of two model directories: the largest difference of any tensor relative to that
# tensor's largest weight.
weights_diff() {
  $PY - "$1/weights.bin" "$2/weights.bin" <<'PY'
import json, struct, sys
def read(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[8:16])[0]
    h = json.loads(b[16:16 + n])
    start = (16 + n + 63) // 64 * 64
    out = {}
    for t in h["tensors"]:
        o = start + t["offset"]
        out[t["name"]] = struct.unpack("<%df" % (t["bytes"] // 4), b[o:o + t["bytes"]])
    return out
a, b = read(sys.argv[1]), read(sys.argv[2])
assert a.keys() == b.keys(), "different tensors"
print(max(max(abs(x - y) for x, y in zip(a[k], b[k])) / (max(abs(v) for v in a[k]) or 1) for k in a))
PY
}
below() { $PY -c "import sys; sys.exit(0 if float('$1') <= float('$2') else 1)"; }

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

expect_error "--world-size alone" "--dist-url, --world-size and --rank go together" \
  $M train "${common[@]}" --world-size 2 --out "$WORK/e1"
expect_error "a rank outside the world" "--rank must be less than --world-size (2), got 2" \
  $M train "${common[@]}" --dist-url tcp://127.0.0.1:29999 --world-size 2 --rank 2 --out "$WORK/e2"
expect_error "a bad --dist-url" "--dist-url must be tcp://HOST:PORT" \
  $M train "${common[@]}" --dist-url 127.0.0.1:29999 --world-size 2 --rank 0 --out "$WORK/e3"
expect_error "torchrun variables half set" "missing: MASTER_ADDR MASTER_PORT" \
  env WORLD_SIZE=2 RANK=0 $M train "${common[@]}" --out "$WORK/e4"
expect_error "launch runs train" "prune on several workers is not built yet" \
  $M launch --nproc 2 -- prune --model tinycnn --dataset fashion-mnist --out "$WORK/e5"
expect_error "prune under WORLD_SIZE" "prune runs as one process for now" \
  env WORLD_SIZE=2 RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=29999 $M prune "${common[@]}" --ram 8KiB --out "$WORK/e6"
finish
