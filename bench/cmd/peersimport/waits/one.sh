#!/usr/bin/env bash
# one.sh BIN WORKDIR [TRACE_AFTER [TRACE_SECONDS]]: one load of the peers'
# facts on PostgreSQL with org writes (import --parallel ${PAR:-4}), a
# runtime/trace of the server (WORKDIR/trace.out, read by
# bench/cmd/writewaits) and the database's backends sampled
# (WORKDIR/pgwait.txt). PEERS_JSONL as for load.sh; DB (default
# waits_one) is dropped and created; PORT (default 18290) to PORT+2.
# Issue 19 goal 4, branch writes17 (docs/benchmarks.md).
set -eu
bin=$1 w=$2
here=$(cd "$(dirname "$0")" && pwd)
db=${DB:-waits_one}
mkdir -p "$w"
psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>/dev/null
"$here/pgwait.sh" "$db" "$w/pgwait.txt" &
echo "load $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%H:%M:%S)"
TRACE=$w/trace.out TRACE_AFTER=${3:-0} TRACE_SECONDS=${4:-25} GATEHOUSE_BIN=$bin PORT=${PORT:-18290} \
	DATABASE="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" GATEHOUSE_POSTGRES_ORG_WRITES=true \
	IMPORT_FLAGS="--parallel ${PAR:-4}" bash "$here/../load.sh" "$w/load" 2>&1 | grep -v '^imported'
echo "load $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%H:%M:%S)"
wait
(cd "$here/../../.." && go run ./cmd/writewaits "$w/trace.out")
"$here/pgwait-sum.sh" "$w/pgwait.txt"
psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $db" 2>/dev/null
