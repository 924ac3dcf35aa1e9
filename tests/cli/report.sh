#!/usr/bin/env bash
# HTML report pages end to end: train, prune (a fitting run), quantize --qat-epochs, deploy
# --emulate and profile --html (a model that does not fit, and one of 10,000 nodes) write their
# pages; `mcuprune report` regenerates them byte for byte and draws the benchmark; a damaged or
# foreign JSON report is a clear error; a report.html the user made is never replaced. Then
# tests/report/check_pages.mjs opens every page in headless Chromium with the network blocked
# and fails on a console error, a request, a missing or blank chart, a verdict or number that
# differs from the JSON report, or (the 10,000-node page) a page not drawn within 2 s.
# Screenshots: $MCUPRUNE_REPORT_OUT (default ./report-pages).
source "$(dirname "$0")/lib.bash"
M="$MCUPRUNE"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${MCUPRUNE_REPORT_OUT:-$PWD/report-pages}"
run() {  # run "what" cmd...: the command must succeed; its output is kept for the message
  local what="$1"; shift
  if "$@" > "$WORK/run.out" 2>&1; then pass "$what"; else fail "$what: $(tail -5 "$WORK/run.out")"; fi
}
data=(--dataset fashion-mnist --limit-train 1000 --limit-test 200)

run "train writes its page" $M train --model tinycnn "${data[@]}" --epochs 2 --batch-size 32 --threads 1 --quiet --out "$WORK/t"
[ -f "$WORK/t/report.html" ] && pass "train: report.html beside report.json" || fail "train: no report.html"
run "prune writes its page" $M prune --model "$WORK/t" "${data[@]}" --epochs 3 --batch-size 32 --threads 1 --ram 10KiB \
  --flash 40KiB --quiet --out "$WORK/p"
[ -f "$WORK/p/report.html" ] && pass "prune: report.html" || fail "prune: no report.html"
run "quantize --qat-epochs writes its page" $M quantize --model "$WORK/t" "${data[@]}" --qat-epochs 1 --threads 1 --quiet \
  --out "$WORK/q"
[ -f "$WORK/q/report.html" ] && pass "quantize: report.html" || fail "quantize: no report.html"
run "deploy --emulate writes its page" $M deploy --model "$WORK/p" --dataset fashion-mnist --emulate --samples 3 --out "$WORK/d"
[ -f "$WORK/d/report.html" ] && pass "deploy: report.html in the work directory" || fail "deploy: no report.html"
$M profile --model vgg --board nucleo-f446re --json > "$WORK/vgg.json" 2> "$WORK/run.out" || fail "profile vgg --json"
run "profile --html" $M profile --model vgg --board nucleo-f446re --html "$WORK/vgg.html"
/usr/bin/python3 "$ROOT/tests/report/make_big_model.py" "$WORK/big-model.json" 10000 > /dev/null
$M profile --model "$WORK/big-model.json" --json > "$WORK/big.json" 2> "$WORK/run.out" || fail "profile 10,000 nodes --json"
run "profile --html, 10,000 nodes" $M profile --model "$WORK/big-model.json" --html "$WORK/big.html"
n=$(json_get "$WORK/big.json" "['operators'].__len__()")
[ "$n" -ge 9990 ] && pass "the 10,000-node model deploys as $n operators" || fail "the large model has only $n operators"

# A prune run always ends within its budgets when they can be met (infeasible ones are refused
# before training), so the failing page is drawn from the fitting run's report with its RAM
# budget lowered under the pruned model's RAM: the page must say it does not fit.
mkdir -p "$WORK/f" && cp "$WORK/p/model.json" "$WORK/f/"
/usr/bin/python3 - "$WORK/p/report.json" "$WORK/f/report.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
b = next(b for b in d["budgets"] if b["resource"] == "ram")
b["budget"], b["fits"], d["budgets_met"] = b["after"] - 100, False, False
json.dump(d, open(sys.argv[2], "w"), indent=1)
PY
run "report draws a run that does not fit" $M report "$WORK/f"

# Regenerated pages are the same bytes (old runs get the current look from their JSON alone).
for d in t p q d; do
  $M report "$WORK/$d" --out "$WORK/$d-again.html" > /dev/null 2>&1 && cmp -s "$WORK/$d/report.html" "$WORK/$d-again.html" \
    && pass "report $d regenerates the same page" || fail "report $d: the regenerated page differs"
done
run "report --bench" $M report --bench "$ROOT/bench/results/methods.csv" --out "$WORK/bench"
bench_model=$(ls "$WORK/bench" | sed -n 's/\.html$//p' | head -1)
[ -n "$bench_model" ] && pass "bench page for $bench_model" || fail "no bench page"

run "train --no-html" $M train --model tinycnn "${data[@]}" --epochs 1 --batch-size 32 --threads 1 --quiet --no-html --out "$WORK/n"
[ ! -e "$WORK/n/report.html" ] && pass "--no-html: no page" || fail "--no-html wrote a page"

# Damaged and foreign reports: a clear error, no page.
mkdir -p "$WORK/cut" "$WORK/foreign" "$WORK/damaged" "$WORK/none" "$WORK/mine"
head -c 2000 "$WORK/p/report.json" > "$WORK/cut/report.json"
expect_error "a truncated report" "not valid JSON" $M report "$WORK/cut"
[ ! -e "$WORK/cut/report.html" ] && pass "no page from a truncated report" || fail "a truncated report left a page"
echo '{"name": "weights", "values": [1, 2, 3]}' > "$WORK/foreign/report.json"
expect_error "a foreign JSON file" "not an mcuprune report (no \"format\" key)" $M report "$WORK/foreign"
$M models --json > "$WORK/foreign/models.json" 2>/dev/null
expect_error "another JSON file" "not an mcuprune report" $M report "$WORK/foreign/models.json"
/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); del d['budgets']; json.dump(d, open(sys.argv[2],'w'))" \
  "$WORK/p/report.json" "$WORK/damaged/report.json"
expect_error "a report without its budgets" "damaged prune report: budgets is missing" $M report "$WORK/damaged"
expect_error "a directory without a report" "holds no report.json, quant_report.json or deploy_report.json" $M report "$WORK/none"
cp "$WORK/t/report.json" "$WORK/mine/" && echo "<html>my notes</html>" > "$WORK/mine/report.html"
expect_error "a report.html the user made" "was not written by mcuprune; it is left alone" $M report "$WORK/mine"
grep -q "my notes" "$WORK/mine/report.html" && pass "the user's report.html is unchanged" || fail "the user's report.html changed"

# The browser.
if ! command -v node > /dev/null || [ ! -x /usr/bin/chromium ]; then
  fail "node and /usr/bin/chromium are needed (scripts/install-deps.sh installs them)"; finish
fi
cat > "$WORK/manifest.json" <<JSON
[{"name": "train", "html": "t/report.html", "json": "t/report.json", "verdict": "trained", "min_numbers": 8,
  "charts": ["loss", "accuracy", "layers", "timeline-given", "timeline-optimal"]},
 {"name": "prune-fits", "html": "p/report.html", "json": "p/report.json", "verdict": "fits", "min_numbers": 30,
  "charts": ["loss", "accuracy", "resource-ram", "resource-flash", "channels", "layers", "timeline-given", "timeline-optimal"]},
 {"name": "prune-does-not-fit", "html": "f/report.html", "json": "f/report.json", "verdict": "does-not-fit", "min_numbers": 30,
  "charts": ["loss", "accuracy", "resource-ram", "resource-flash", "channels", "layers", "timeline-given", "timeline-optimal"]},
 {"name": "quantize-qat", "html": "q/report.html", "json": "q/quant_report.json", "min_numbers": 6,
  "charts": ["accuracy-int8", "loss", "accuracy", "layers", "timeline-given", "timeline-optimal"]},
 {"name": "deploy", "html": "d/report.html", "json": "d/deploy_report.json", "verdict": "bit-exact", "min_numbers": 15,
  "charts": ["memory", "instructions", "timeline-given", "timeline-optimal"]},
 {"name": "profile-does-not-fit", "html": "vgg.html", "json": "vgg.json", "verdict": "does-not-fit", "min_numbers": 100,
  "charts": ["layers", "timeline-given", "timeline-optimal"]},
 {"name": "bench-$bench_model", "html": "bench/$bench_model.html", "json": "bench/$bench_model.json", "min_numbers": 20,
  "charts": ["pareto-ram", "pareto-flash"]},
 {"name": "profile-10000-nodes", "html": "big.html", "json": "big.json", "min_numbers": 100, "max_ready_ms": 6000,
  "charts": ["layers", "timeline-given", "timeline-optimal"]}]
JSON
rm -rf "$OUT" && mkdir -p "$OUT"
if node "$ROOT/tests/report/check_pages.mjs" --manifest "$WORK/manifest.json" --out "$OUT" > "$WORK/check.out" 2>&1; then
  pass "every page passes in headless Chromium (screenshots in $OUT)"
else
  fail "pages in headless Chromium:"; cat "$WORK/check.out"
fi
grep -E '^(PASS|FAIL)' "$WORK/check.out"
for name in train prune-fits deploy profile-10000-nodes; do
  [ -s "$OUT/$name.png" ] && pass "screenshot $name.png" || fail "no screenshot $name.png"
done
finish
