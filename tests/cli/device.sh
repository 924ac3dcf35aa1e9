#!/usr/bin/env bash
# --device (docs/distributed.md, GPUs). On every build: bad values are clear errors, and
# --device cpu trains, prunes and evaluates exactly what the default (auto, which is the CPU
# here) does. With a LibTorch without CUDA (Debian's), --device cuda is a one-line error that
# says how to build with CUDA. With MCUPRUNE_GPU_TESTS=1 (bench/gpu_check.sh, a CUDA build on a
# machine with a GPU), the GPU checks run instead: train, eval, prune and the quantisation-aware
# fine-tuning on cuda agree with the CPU within float tolerance, and two workers on two GPUs
# use NCCL.
source "$(dirname "$0")/lib.bash"
M="$MCUPRUNE"
PY=/usr/bin/python3
common=(--model tinycnn --dataset fashion-mnist --limit-train 600 --limit-test 300 --val-fraction 0.1 --epochs 1
        --optimizer sgd --lr 0.01 --threads 1 --quiet)

expect_error "--device with a bad value" "--device must be auto, cpu, cuda or cuda:N" \
  $M train "${common[@]}" --device gpu0 --out "$WORK/bad"
expect_error "--device cuda: with no number" "--device must be auto, cpu, cuda or cuda:N" \
  $M eval --model "$WORK/none" --dataset fashion-mnist --device cuda:

# pip's LibTorch exports its own build of libstdc++'s std::filesystem and the loader binds
# mcuprune's calls to it; its remove_all crashed there (docs/distributed.md), so mcuprune has its
# own (remove_tree) and must not import that one.
if command -v nm > /dev/null; then
  n=$(nm -D --undefined-only "$M" | grep -c 'filesystem.*remove_all' || true)
  [ "$n" = 0 ] && pass "mcuprune imports no std::filesystem::remove_all" || fail "mcuprune imports std::filesystem::remove_all ($n symbols)"
else
  fail "nm (binutils) is missing: cannot check mcuprune's imports"
fi

# cpu and auto (the default) are the same run here, bit for bit.
$M train "${common[@]}" --device cpu --out "$WORK/cpu" > /dev/null 2>&1 || fail "train --device cpu"
$M train "${common[@]}" --out "$WORK/auto" > /dev/null 2>&1 || fail "train (default device)"
if [ "${MCUPRUNE_GPU_TESTS:-0}" != 1 ]; then
  cmp -s "$WORK/cpu/weights.bin" "$WORK/auto/weights.bin" && [ "$(json_get "$WORK/auto/report.json" "['device']")" = cpu ] \
    && pass "--device auto is the CPU here: the same weights as --device cpu, report says cpu" \
    || fail "--device auto and cpu differ, or the report does not say cpu"
  for cmd in "train ${common[*]} --out $WORK/c1" "prune ${common[*]} --ram 8KiB --out $WORK/c2" \
             "eval --model $WORK/cpu --dataset fashion-mnist" \
             "quantize --model $WORK/cpu --dataset fashion-mnist --qat-epochs 1 --out $WORK/c3"; do
    # shellcheck disable=SC2086
    expect_error "${cmd%% *} --device cuda without a CUDA LibTorch" \
      "needs a LibTorch built with CUDA, and this mcuprune was built against one without it" $M $cmd --device cuda
  done
  [ ! -e "$WORK/c1" ] && [ ! -e "$WORK/c2" ] && pass "nothing is written when the device is refused" \
    || fail "a refused --device left a directory"
  # A resumed run may move to another device (like --threads): the 1-epoch run above, extended.
  $M train --resume "$WORK/auto" --epochs 2 --device cpu --quiet > "$WORK/r.out" 2>&1 \
    && [ "$(json_get "$WORK/auto/report.json" "['device']")" = cpu ] && [ "$(json_get "$WORK/auto/report.json" "['epochs']")" = 2 ] \
    && pass "--device is accepted with --resume" || fail "train --resume --device cpu: $(tail -3 "$WORK/r.out")"
  finish
  exit
fi

# ---- GPU checks (a CUDA build on a machine with a GPU) ----
gpus=$(nvidia-smi -L 2> /dev/null | wc -l)
$M train "${common[@]}" --device cuda --out "$WORK/gpu" > "$WORK/gpu.out" 2>&1 || fail "train --device cuda: $(tail -3 "$WORK/gpu.out")"
[ "$(json_get "$WORK/gpu/report.json" "['device']")" = cuda:0 ] && pass "train ran on cuda:0" || fail "train's report device"
d=$(weights_diff "$WORK/gpu" "$WORK/cpu")
below "$d" 0.05 && pass "train: GPU and CPU weights differ by $d (float rounding, cuDNN's sums)" \
  || fail "train: GPU and CPU weights differ by $d"
a=$(json_get "$WORK/gpu/report.json" "['accuracy']['test']"); b=$(json_get "$WORK/cpu/report.json" "['accuracy']['test']")
below "$($PY -c "print(abs($a - $b))")" 0.02 && pass "train: test accuracy $a on GPU, $b on CPU" || fail "accuracy GPU $a, CPU $b"
ea=$($M eval --model "$WORK/cpu" --dataset fashion-mnist --device cuda --json 2> /dev/null | $PY -c "import json,sys; print(json.load(sys.stdin)['accuracy'])")
eb=$($M eval --model "$WORK/cpu" --dataset fashion-mnist --device cpu --json 2> /dev/null | $PY -c "import json,sys; print(json.load(sys.stdin)['accuracy'])")
below "$($PY -c "print(abs($ea - $eb))")" 0.0011 && pass "eval: $ea on GPU, $eb on CPU" || fail "eval GPU $ea, CPU $eb"
$M prune "${common[@]/--epochs/--warmup-epochs}" --ram 8KiB --epochs 2 --device cuda --out "$WORK/gp" > "$WORK/gp.out" 2>&1 \
  && [ "$(json_get "$WORK/gp/report.json" "['budgets_met']")" = True ] && pass "prune on cuda: budgets met" \
  || fail "prune --device cuda: $(tail -3 "$WORK/gp.out")"
$M quantize --model "$WORK/cpu" --dataset fashion-mnist --limit-test 300 --qat-epochs 1 --device cuda --out "$WORK/gq" \
  > "$WORK/gq.out" 2>&1 && pass "quantize --qat-epochs on cuda" || fail "quantize on cuda: $(tail -3 "$WORK/gq.out")"
if [ "$gpus" -ge 2 ]; then
  $M launch --nproc 2 -- train "${common[@]}" --device cuda --batch-size 32 --out "$WORK/g2" > "$WORK/g2.out" 2>&1 \
    && pass "2 workers on 2 GPUs (NCCL where built)" || fail "launch on 2 GPUs: $(tail -3 "$WORK/g2.out")"
else
  echo "not run: two workers on GPUs (NCCL needs a GPU per worker; $gpus visible)"
fi
finish
