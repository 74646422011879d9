#!/usr/bin/env bash
# Issue 19 goal 4 by ablation: the peers' facts loaded by five Gatehouse
# variants beside SpiceDB on PostgreSQL, side by side (../sidebyside.sh,
# COUNTS=1), on SQLite and on PostgreSQL with org writes (README.md):
#   a  main as it is;
#   b  ablate.patch, GH_ABLATE=noaudit: a bulk write records no audit entry;
#   c  main, the audit log's three filter indexes dropped after init;
#   d  ablate.patch, GH_ABLATE=nochangelog: a bulk write appends no
#      changelog row;
#   e  ablate.patch, GH_ABLATE=noaudit,nochangelog;
#   f  c + d: the audit entries kept without their filter indexes, no
#      changelog row (not in the default VARIANTS);
#   g  main with audit_entries_target dropped after init: one B-tree entry
#      fewer per audit entry (since 00019 an entry is three: the table,
#      its (org, seq) key and _target), the bound branch cost4 put on
#      making the table's own key the (org, seq) order (not in the default
#      VARIANTS).
# SYSTEMS, if set, replaces the BACKENDS x VARIANTS list (e.g. g on SQLite
# only); SpiceDB runs are then where SYSTEMS names spicedb-pg.
#
#   GATEHOUSE_BIN=/path/to/main/gatehouse ABLATE_BIN=/path/to/patched/gatehouse \
#     SPICEDB_BIN=/path/to/spicedb [ROUNDS=2] [VARIANTS='a b c d e'] \
#     [BACKENDS='gh-sqlite gh-pg-orgwrites'] [GH_PORT=18600] [SDB_PORT=18610] \
#     [DB_PREFIX=writes14] bench/cmd/peersimport/ablate/run.sh WORKDIR
# SpiceDB runs twice a round (first and halfway), so that every variant
# has a SpiceDB run within a few minutes of it.
set -euo pipefail
W=${1:?usage: run.sh WORKDIR}
: "${GATEHOUSE_BIN:?set GATEHOUSE_BIN}" "${ABLATE_BIN:?set ABLATE_BIN}" "${SPICEDB_BIN:?set SPICEDB_BIN}"
here=$(cd "$(dirname "$0")" && pwd)
export GH_BIN_a=$GATEHOUSE_BIN GH_BIN_c=$GATEHOUSE_BIN
export GH_BIN_b=$ABLATE_BIN GH_ENV_b=GH_ABLATE=noaudit
export GH_BIN_d=$ABLATE_BIN GH_ENV_d=GH_ABLATE=nochangelog
export GH_BIN_e=$ABLATE_BIN GH_ENV_e=GH_ABLATE=noaudit,nochangelog
export GH_AFTER_INIT_c='
if [[ -n $DATABASE ]]; then
	psql "$DATABASE" -q -c "DROP INDEX audit_entries_actor, audit_entries_target, audit_entries_at"
else
	sqlite3 "$DATA/gatehouse.db" ".timeout 30000" "DROP INDEX audit_entries_actor; DROP INDEX audit_entries_target; DROP INDEX audit_entries_at;"
fi'
export GH_BIN_f=$ABLATE_BIN GH_ENV_f=GH_ABLATE=nochangelog GH_AFTER_INIT_f=$GH_AFTER_INIT_c
export GH_BIN_g=$GATEHOUSE_BIN GH_AFTER_INIT_g='
if [[ -n $DATABASE ]]; then
	psql "$DATABASE" -q -c "DROP INDEX audit_entries_target"
else
	sqlite3 "$DATA/gatehouse.db" ".timeout 30000" "DROP INDEX audit_entries_target;"
fi'
sys=()
for b in ${BACKENDS:-gh-sqlite gh-pg-orgwrites}; do
	for v in ${VARIANTS:-a b c d e}; do sys+=("$b@$v"); done
done
half=$((${#sys[@]} / 2))
SYSTEMS="spicedb-pg ${sys[*]:0:$half} spicedb-pg ${sys[*]:$half}"
[[ ${NO_SPICEDB:-} == 1 ]] && SYSTEMS="${sys[*]}"
[[ -n ${ONLY_SYSTEMS:-} ]] && SYSTEMS=$ONLY_SYSTEMS
export SYSTEMS COUNTS=1 GH_PORT=${GH_PORT:-18600} SDB_PORT=${SDB_PORT:-18610} DB_PREFIX=${DB_PREFIX:-writes14}
exec bash "$here/../sidebyside.sh" "$W"
