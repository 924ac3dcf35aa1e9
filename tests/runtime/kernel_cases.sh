#!/bin/bash
# The runtime's kernels on fixed and seeded random layers (tests/runtime/kernel_cases.c): the
# portable build and the build with the DSP path emulated must each pass their own checks
# (with and without conv scratch; mp_requantize against its reference) and write the same
# outputs, byte for byte.
# usage: kernel_cases.sh PORTABLE_BINARY DSP_BINARY
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/portable" "$dir/dsp"
(cd "$dir/portable" && "$1" > log.txt) || { cat "$dir/portable/log.txt"; exit 1; }
(cd "$dir/dsp" && "$2" > log.txt) || { cat "$dir/dsp/log.txt"; exit 1; }
grep -q "KERNEL CASES OK" "$dir/portable/log.txt"
grep -q "KERNEL CASES OK" "$dir/dsp/log.txt"
cases=$(grep -c '^CASE ' "$dir/dsp/log.txt")
[ "$cases" -ge 70 ] || { echo "only $cases cases ran"; exit 1; }
[ -s "$dir/dsp/kernel_outputs.bin" ] || { echo "no outputs written"; exit 1; }
cmp "$dir/portable/kernel_outputs.bin" "$dir/dsp/kernel_outputs.bin"
echo "kernel cases: $cases cases, portable and DSP (emulated) outputs identical"
