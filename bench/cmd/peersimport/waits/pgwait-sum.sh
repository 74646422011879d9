#!/usr/bin/env bash
# pgwait-sum.sh OUT: the mean number of backends in each state a sample
awk '$1=="sample"{n++; next} NF==4 {c[$1" "$2" "$3]+=$4} END {for (k in c) printf "%6.2f  %s\n", c[k]/n, k; printf "samples %d\n", n}' "$1" | sort -rn
