# Shared helpers for the CLI tests: each test script gets the mcuprune binary as $1.
MCUPRUNE="$1"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
fails=0
pass() { echo "ok: $1"; }
fail() { echo "FAIL: $1"; fails=$((fails + 1)); }
# expect_error "description" "substring" cmd...: non-zero exit and stderr contains substring.
expect_error() {
  local what="$1" needle="$2"; shift 2
  local err rc
  err="$("$@" 2>&1 >/dev/null)"; rc=$?
  if [ $rc -eq 0 ]; then fail "$what: exit 0, expected an error"; return; fi
  if ! grep -qF -- "$needle" <<<"$err"; then fail "$what: message lacks '$needle': $err"; return; fi
  if [ "$(wc -l <<<"$err")" -ne 1 ]; then fail "$what: expected a one-line message, got: $err"; return; fi
  pass "$what"
}
json_get() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval('d'+sys.argv[2]))" "$1" "$2"; }
finish() { if [ $fails -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi; echo "all checks passed"; }
# Weights of two model directories: the largest difference of any tensor relative to that
# tensor's largest weight.
weights_diff() {
  /usr/bin/python3 - "$1/weights.bin" "$2/weights.bin" <<'PY'
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
below() { /usr/bin/python3 -c "import sys; sys.exit(0 if float('$1') <= float('$2') else 1)"; }
