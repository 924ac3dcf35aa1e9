#!/usr/bin/env bash
# Bad input gets a one-line error that says what is wrong and what exists; --help has examples.
source "$(dirname "$0")/lib.bash"
M="$MCUPRUNE"
expect_error "unknown model lists models" "built-in models: tinycnn, vgg, mobilenetv2, resnet8, dscnn" \
  $M train --model nosuch --dataset fashion-mnist --out "$WORK/a"
expect_error "unknown dataset lists names" "fashion-mnist" \
  $M train --model tinycnn --dataset nosuchdata --out "$WORK/b"
expect_error "unknown option lists valid ones" "--batch-size" \
  $M train --model tinycnn --dataset fashion-mnist --bogus 3 --out "$WORK/c"
expect_error "malformed shape shows the form" "HxWxC" \
  $M train --model tinycnn --dataset fashion-mnist --input 28by28 --out "$WORK/d"
expect_error "bad optimizer" "--optimizer must be adam or sgd" \
  $M train --model tinycnn --dataset fashion-mnist --optimizer rmsprop --out "$WORK/e"
expect_error "missing --out" "--out DIR is required" \
  $M train --model tinycnn --dataset fashion-mnist
expect_error "eval of a missing directory" "does not exist" \
  $M eval --model "$WORK/none" --dataset fashion-mnist
expect_error "resume without checkpoint" "no checkpoint" \
  $M train --resume "$WORK"
expect_error "resume rejects changed options" "--lr cannot be given with --resume" \
  $M train --resume "$WORK" --lr 0.1
expect_error "no command" "give a command" $M
expect_error "distillation weight out of range" "--distill must be in [0, 1]" \
  $M prune --model tinycnn --dataset fashion-mnist --flash 20KiB --distill 2 --out "$WORK/h"
expect_error "distillation needs a warm-up" "--distill needs a warm-up" \
  $M prune --model tinycnn --dataset fashion-mnist --flash 20KiB --distill 0.5 --warmup-epochs 0 --out "$WORK/i"
echo '{"format":"mcuprune-model","version":1,"nodes":[{"name":"input","op":"input","shape":[28,28,1]},{"name":"c","op":"conv2d","inputs":["input"],"out_channels":4,"kernel":3,"padding":"same","colour":1}]}' > "$WORK/typo.json"
expect_error "typo in a model file names node and key" "node 'c': unknown key 'colour'" \
  $M train --model "$WORK/typo.json" --dataset fashion-mnist --out "$WORK/f"
echo '{"format":"mcuprune-model","version":1,"nodes":[{"name":"input","op":"input","shape":[28,28,1]},{"name":"c","op":"conv2d","inputs":["input"],"out_channels":4,"kernel":3},{"name":"d","op":"dense","inputs":["c"],"out_channels":10}]}' > "$WORK/shape.json"
expect_error "shape error names the node" "d (dense): expects a flat input" \
  $M train --model "$WORK/shape.json" --dataset fashion-mnist --out "$WORK/g"
for sub in train eval models bench-train; do
  if $M $sub --help | grep -q "Example"; then pass "$sub --help has examples"; else fail "$sub --help lacks examples"; fi
done
if $M --help | grep -q "Examples"; then pass "--help has examples"; else fail "--help lacks examples"; fi
out="$($M models)"
for m in tinycnn vgg mobilenetv2 resnet8 dscnn; do
  grep -q "^$m " <<<"$out" && pass "models lists $m" || fail "models lacks $m"
done
$M models --show resnet8 --input 32x32x3 | grep -q "77706 params" && pass "resnet8 params shown" || fail "resnet8 params"
finish
