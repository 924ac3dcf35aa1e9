# Shell helpers shared by the bench/*.sh scripts (sourced, not run).
# median: the median of the numbers on stdin, one per line.
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# sps: the samples_per_second value of `mcuprune bench-train`'s JSON output on stdin.
sps() { grep -o '"samples_per_second": *[0-9.e+]*' | grep -o '[0-9.e+]*$'; }
# layout: the layout value (channels-last or NCHW) of `mcuprune bench-train`'s JSON output on stdin.
layout() { grep -o '"layout": *"[^"]*"' | grep -o '"[^"]*"$' | tr -d '"'; }
# default_width MODEL: the zoo model's default width multiplier; needs $M and $PY.
default_width() { "$M" models --json | "$PY" -c "import json,sys; print(next(e['default_width'] for e in json.load(sys.stdin) if e['name']=='$1'))"; }
# model_total MODEL KEY: the unpruned MODEL's profile total KEY (ram_bytes, flash_bytes, ...); needs $M and $PY.
model_total() { "$M" profile --model "$1" --json 2>/dev/null | "$PY" -c "import json,sys; print(json.load(sys.stdin)['totals']['$2'])"; }
# level_budget MODEL LEVEL: the budget options of a level of bench/methods.py, as words: ramK or
# flashK (1/K of the unpruned total), f446re or f746zg (the board), tight (1/8 of the RAM and
# 1/20 of the flash: methods.py's TIGHT_RAM_DIVISOR and TIGHT_FLASH_DIVISOR).
level_budget() {
  case "$2" in
    f446re | f746zg) echo "--board nucleo-$2"; return ;;
    tight) echo "--ram $(( $(model_total "$1" ram_bytes) / 8 )) --flash $(( $(model_total "$1" flash_bytes) / 20 ))"; return ;;
  esac
  local k="${2#ram}" key=ram_bytes option=--ram
  if [ "${2#flash}" != "$2" ]; then k="${2#flash}"; key=flash_bytes; option=--flash; fi
  echo "$option $(( $(model_total "$1" "$key") / k ))"
}
