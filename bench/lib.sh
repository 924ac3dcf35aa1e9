# Shell helpers shared by the bench/*.sh scripts (sourced, not run).
# median: the median of the numbers on stdin, one per line.
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# sps: the samples_per_second value of `mcuprune bench-train`'s JSON output on stdin.
sps() { grep -o '"samples_per_second": *[0-9.e+]*' | grep -o '[0-9.e+]*$'; }
