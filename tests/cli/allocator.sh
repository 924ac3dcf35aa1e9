#!/usr/bin/env bash
# The allocator set-up for training (README.md, "Memory allocator"): reported, left to the user
# when glibc's variables are set, and without effect on what training computes.
source "$(dirname "$0")/lib.bash"
M="$MCUPRUNE"
common=(--model tinycnn --dataset fashion-mnist --limit-train 600 --limit-test 200 --batch-size 32 --threads 1
        --epochs 1 --seed 3 --quiet --no-html)
$M train "${common[@]}" --out "$WORK/tuned" > "$WORK/tuned.out" 2>&1 || { fail "train failed: $(cat "$WORK/tuned.out")"; finish; }
MALLOC_TOP_PAD_=131072 $M train "${common[@]}" --out "$WORK/user" > "$WORK/user.out" 2>&1 \
  || { fail "train with MALLOC_TOP_PAD_ failed: $(cat "$WORK/user.out")"; finish; }
tuned="$(json_get "$WORK/tuned/report.json" "['allocator']")"
user="$(json_get "$WORK/user/report.json" "['allocator']")"
if grep -q "^AddressSanitizer's" <<<"$tuned"; then
  # make test-sanitize: ASan's allocator replaces glibc's, so there is nothing to set up.
  grep -q "^AddressSanitizer's" <<<"$user" && pass "sanitizer build: the allocator is AddressSanitizer's, said so" \
    || fail "sanitizer build, with MALLOC_TOP_PAD_: $user"
elif [ "$(/usr/bin/python3 -c 'import os; print(os.confstr("CS_GNU_LIBC_VERSION") or "")' | cut -c1-5)" = glibc ]; then
  grep -q "^glibc, freed memory kept" <<<"$tuned" && pass "report says the allocator keeps freed memory" \
    || fail "allocator without glibc variables: $tuned"
  grep -q "^glibc, as set by the environment" <<<"$user" && pass "MALLOC_TOP_PAD_ leaves the allocator to the user" \
    || fail "allocator with MALLOC_TOP_PAD_: $user"
  out="$(GLIBC_TUNABLES=glibc.malloc.trim_threshold=131072 $M bench-train --model tinycnn --steps 1 --warmup 0 --threads 1)"
  grep -q '"allocator":"glibc, as set by the environment' <<<"$out" && pass "GLIBC_TUNABLES leaves the allocator to the user" \
    || fail "bench-train with GLIBC_TUNABLES: $out"
else
  [ -n "$tuned" ] && pass "report names the allocator ($tuned)" || fail "report lacks allocator"
fi
d="$(weights_diff "$WORK/tuned" "$WORK/user")"
below "$d" 0 && pass "same weights with either allocator set-up" || fail "weights differ by $d between allocator set-ups"
[ "$(json_get "$WORK/tuned/report.json" "['accuracy']['test']")" = "$(json_get "$WORK/user/report.json" "['accuracy']['test']")" ] \
  && pass "same test accuracy" || fail "test accuracy differs between allocator set-ups"
finish
