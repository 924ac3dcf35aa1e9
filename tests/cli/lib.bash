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
