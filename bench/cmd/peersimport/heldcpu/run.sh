#!/usr/bin/env bash
# One SQLite load of the peers' facts with heldcpu.patch's timers
# (GH_WTIMING=1), and the facts phase's figures per fact (README.md).
#
#   GATEHOUSE_BIN=/tmp/gh-heldcpu PEERS_JSONL=/tmp/peers.jsonl [PORT=19320] \
#     bench/cmd/peersimport/heldcpu/run.sh WORKDIR
set -euo pipefail
W=${1:?usage: run.sh WORKDIR}
: "${GATEHOUSE_BIN:?set GATEHOUSE_BIN}" "${PEERS_JSONL:?set PEERS_JSONL}"
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$W" && mkdir -p "$W" && W=$(cd "$W" && pwd)
GH_WTIMING=1 IMPORT_FLAGS="${IMPORT_FLAGS:---parallel 2}" PORT="${PORT:-19320}" \
	bash "$here/../load.sh" "$W/load" >"$W/load.out" 2>&1 &
lp=$!
# the facts phase starts with the second import
for _ in $(seq 6000); do pgrep -f "import $W/load/facts.jsonl" >/dev/null && break; sleep 0.1; done
date +%s%3N >"$W/facts.start"
wait "$lp"
grep -E 'facts load|server CPU' "$W/load.out"
# the timers' last line before the facts phase, and their last line
awk -v s="$(cat "$W/facts.start")" '$1 == "wtiming" && $2 < s {b = $0} $1 == "wtiming" {e = $0} END {print b; print e}' \
	"$W/load/serve.log" >"$W/lines"
python3 - "$W/lines" "$(wc -l <"$W/load/facts.jsonl")" <<'PY'
import sys
b, e = [l.split() for l in open(sys.argv[1]).read().strip().split('\n')]
d = lambda l: {k: int(v) for k, v in (x.split('=') for x in l[2:])}
B, E, n = d(b), d(e), int(sys.argv[2])
print(' '.join(f"{k}={(E[k] - B[k]) / n:.1f}" for k in E), '(µs a fact over the facts phase; writes and installfail: count × 1000 / facts)')
PY
