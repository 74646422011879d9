#!/bin/sh
# pairs.sh: the same loadgen run against `loadgen floor`, a baseline
# Gatehouse and a candidate Gatehouse, alternating, so the three share the
# same minutes of a noisy machine (docs/benchmarks.md, issue 19).
#
#   DATA=/tmp/h9/orgs1m LOADGEN=/tmp/h9/loadgen \
#   FLOOR=http://127.0.0.1:18481,PID OLD=http://127.0.0.1:18480,PID NEW=http://127.0.0.1:18482,PID \
#   ROUNDS=2 bench/cmd/loadgen/pairs.sh -mode check -conns 32 -rate 20000 -duration 15s
#
# Each of FLOOR, OLD, NEW is "URL,PID" (the PID for -server-pid); leave one
# unset to skip it. The load average is printed before every run.
set -eu
: "${DATA:?DATA: the loadgen data directory}" "${LOADGEN:=loadgen}" "${ROUNDS:=2}"
run() {
	name=$1; target=$2; shift 2
	[ -n "$target" ] || return 0
	url=${target%%,*}; pid=${target#*,}
	echo "== $name $* | load average $(cut -d' ' -f1-3 /proc/loadavg)"
	"$LOADGEN" run -data "$DATA" -url "$url" -server-pid "$pid" "$@" 2>&1 | tail -3
}
i=0
while [ "$i" -lt "$ROUNDS" ]; do
	run floor "${FLOOR:-}" "$@"
	run old "${OLD:-}" "$@"
	run new "${NEW:-}" "$@"
	i=$((i + 1))
done
