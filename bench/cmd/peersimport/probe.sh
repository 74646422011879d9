#!/usr/bin/env bash
# One load of the peers' facts (load.sh) on PostgreSQL with org writes and
# `import --parallel 4`, sampling over the facts phase what the database's
# backends do (pg_stat_activity, every ≈ 0.1 s) and where the server's
# goroutines are (its debug address's pprof, every fifth sample): where a
# concurrent org write waits (issue 19 goal 4, branch writes12).
#
#   GATEHOUSE_BIN=/path/to/gatehouse PEERS_JSONL=/path/to/peers.jsonl [PORT=18664] [DB=probe] \
#     bench/cmd/peersimport/probe.sh WORKDIR
#
# WORKDIR/pgsa: one "state|wait_event_type:wait_event" line per active
# backend, "---" between samples; WORKDIR/g.N: goroutine dumps (debug=1).
# The database DB is dropped and created.
set -uo pipefail
W=${1:?usage: probe.sh WORKDIR}
: "${GATEHOUSE_BIN:?set GATEHOUSE_BIN}" "${PEERS_JSONL:?set PEERS_JSONL}"
here=$(cd "$(dirname "$0")" && pwd)
PG=${PG:-postgres://postgres@127.0.0.1:5432} PORT=${PORT:-18664} DB=${DB:-probe}
rm -rf "$W"; mkdir -p "$W"; W=$(cd "$W" && pwd)
psql "$PG/postgres" -q -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
env PORT="$PORT" DATABASE="$PG/$DB?sslmode=disable" GATEHOUSE_POSTGRES_ORG_WRITES=true IMPORT_FLAGS='--parallel 4' \
	bash "$here/load.sh" "$W/run" >"$W/load.out" 2>&1 &
lp=$!
until pgrep -f "import $W/run/facts.jsonl" >/dev/null; do sleep 0.05; kill -0 $lp 2>/dev/null || break; done
i=0
while pgrep -f "import $W/run/facts.jsonl" >/dev/null; do
	psql "$PG/$DB" -Atc "SELECT state || '|' || coalesce(wait_event_type, '') || ':' || coalesce(wait_event, '') FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'" >>"$W/pgsa" 2>/dev/null
	echo --- >>"$W/pgsa"
	if ((i % 5 == 0)); then curl -s "http://127.0.0.1:$((PORT + 2))/debug/pprof/goroutine?debug=1" >"$W/g.$i"; fi
	i=$((i + 1))
	sleep 0.1
done
wait $lp
cat "$W/load.out"
n=$(grep -c -- --- "$W/pgsa")
echo "pg_stat_activity: $n samples; backends per sample:"
grep -v -- --- "$W/pgsa" | sort | uniq -c | awk -v n="$n" '{c = $1; $1 = ""; printf "  %.2f%s\n", c / n, $0}' | sort -rn
echo "writer goroutines (in writeIn) by their innermost Gatehouse frame:"
for f in "$W"/g.*; do
	awk '/^[0-9]+ @/ {n = $1; top = ""; w = 0; next}
		/^#/ && n {if (top == "" && $3 ~ /gatehouse/) top = $3; if ($3 ~ /writeIn/) w = 1}
		/^$/ {if (n && w) print n, top; n = 0}' "$f"
done | sed 's/+0x[0-9a-f]*//' | awk '{a[$2] += $1} END {for (k in a) print "  " a[k], k}' | sort -rn
