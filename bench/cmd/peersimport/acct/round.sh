#!/usr/bin/env bash
# round.sh BIN TAG FLAGS [pg]: one load.sh run of the peers' facts with
# IMPORT_FLAGS=FLAGS, printing the load average before and after it; with
# pg, on a fresh PostgreSQL database ovl_TAG (created and dropped).
#   PEERS_JSONL=/tmp/overlap/peers.jsonl OUT=/tmp/overlap/runs bench/cmd/peersimport/acct/round.sh /tmp/overlap/gh-new p2-1 "--parallel 2"
# SQ_PORT, PG_PORT (the server's port on SQLite, on PostgreSQL; it also
# uses port+2) and DB_PREFIX (the database's name before TAG) default to
# 19220, 19230 and ovl_.
set -euo pipefail
bin=$1 tag=$2 flags=$3 pg=${4:-}
here=$(cd "$(dirname "$0")/.." && pwd)
: "${PEERS_JSONL:?set PEERS_JSONL}" "${OUT:?set OUT}"
l0=$(cut -d' ' -f1 /proc/loadavg); t=$(date -u +%H:%M:%S)
if [[ -n "$pg" ]]; then
	db=${DB_PREFIX:-ovl_}$tag
	dropdb -h 127.0.0.1 -U postgres --if-exists "$db"; createdb -h 127.0.0.1 -U postgres "$db"
	out=$(IMPORT_FLAGS="$flags" DATABASE="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" GATEHOUSE_BIN=$bin PORT=${PG_PORT:-19230} "$here/load.sh" "$OUT/$tag" 2>&1)
	dropdb -h 127.0.0.1 -U postgres "$db"
else
	out=$(IMPORT_FLAGS="$flags" GATEHOUSE_BIN=$bin PORT=${SQ_PORT:-19220} "$here/load.sh" "$OUT/$tag" 2>&1)
fi
echo "== $tag $t load $l0-$(cut -d' ' -f1 /proc/loadavg) flags[$flags]"
echo "$out" | grep -E "facts load|CPU µs"
rm -rf "${OUT:?}/$tag/data"
