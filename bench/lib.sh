# Shell helpers shared by the bench/*.sh scripts (sourced, not run).
# median: the median of the numbers on stdin, one per line.
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# sps: the samples_per_second value of `mcuprune bench-train`'s JSON output on stdin.
sps() { grep -o '"samples_per_second": *[0-9.e+]*' | grep -o '[0-9.e+]*$'; }
# model_total MODEL KEY: the unpruned MODEL's profile total KEY (ram_bytes, flash_bytes, ...); needs $M and $PY.
model_total() { "$M" profile --model "$1" --json 2>/dev/null | "$PY" -c "import json,sys; print(json.load(sys.stdin)['totals']['$2'])"; }
# level_budget MODEL LEVEL: the budget option of a level ramK or flashK (1/K of the unpruned total), as two words.
level_budget() {
  local k="${2#ram}" key=ram_bytes option=--ram
  if [ "${2#flash}" != "$2" ]; then k="${2#flash}"; key=flash_bytes; option=--flash; fi
  echo "$option $(( $(model_total "$1" "$key") / k ))"
}
