#!/usr/bin/env bash
# One SQLite load of the peers' facts (load.sh) with a runtime/trace of
# TRACE_SECONDS (default 3) taken 2 s into the facts phase from serve's
# --debug-addr, read by heldtrace (README.md). The server must be built
# with region.patch.
#
#   GATEHOUSE_BIN=/tmp/gh-trace PEERS_JSONL=/tmp/peers.jsonl [PORT=19030] [TRACE_SECONDS=3] \
#     bench/cmd/peersimport/heldtrace/run.sh WORKDIR
set -euo pipefail
W=${1:?usage: run.sh WORKDIR}
: "${GATEHOUSE_BIN:?set GATEHOUSE_BIN}" "${PEERS_JSONL:?set PEERS_JSONL}"
here=$(cd "$(dirname "$0")" && pwd)
PORT=${PORT:-19030}
rm -rf "$W" && mkdir -p "$W" && W=$(cd "$W" && pwd)
(cd "$here" && GOFLAGS=-mod=mod go build -o "$W/heldtrace" .)
IMPORT_FLAGS="${IMPORT_FLAGS:---parallel 2}" PORT="$PORT" bash "$here/../load.sh" "$W/load" >"$W/load.out" 2>&1 &
lp=$!
# the facts import; the pattern's [.] keeps it from matching this pgrep's own command line
for _ in $(seq 6000); do pgrep -f "^$GATEHOUSE_BIN import $W/load/facts[.]jsonl" >/dev/null && break; sleep 0.1; done
sleep 2
echo "load average at the trace: $(cut -d' ' -f1-3 /proc/loadavg)"
curl -sf -o "$W/trace.out" "http://127.0.0.1:$((PORT + 2))/debug/pprof/trace?seconds=${TRACE_SECONDS:-3}"
wait "$lp"
grep -E 'facts load|server CPU' "$W/load.out"
"$W/heldtrace" "$W/trace.out"
