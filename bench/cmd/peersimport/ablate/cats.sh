#!/usr/bin/env bash
# The share of a CPU profile's samples whose stack matches each regex
# below (the categories of README.md; they overlap where indented).
#   bench/cmd/peersimport/ablate/cats.sh PROFILE [BINARY]
set -euo pipefail
p=$1 bin=${2:-gatehouse}
tot=$(go tool pprof -top -unit=ms -nodecount=1 "$bin" "$p" 2>/dev/null | sed -n 's/.*Total samples = \([0-9.]*\)ms.*/\1/p')
echo "total $tot ms"
while IFS='|' read -r name re; do
  [[ -z $name ]] && continue
  s=$(go tool pprof -top -cum -unit=ms -nodecount=1 -focus="$re" "$bin" "$p" 2>/dev/null | awk '$4 ~ /ms$/ {v = $4; sub("ms", "", v); print v; exit}')
  awk -v n="$name" -v s="$s" -v t="$tot" 'BEGIN{printf "%-44s %6.2f s %5.1f%%\n", n, s/1000, 100*s/t}'
done <<'CATS'
directory.Write (whole bulk write)|directory.\(\*Directory\).Write$
request decode (json, route before Write)|server.*decode|encoding/json.\(\*Decoder\)|json.Unmarshal
prefetchOutside (reads before the lock)|prefetchOutside
CatchUp in tx|directory.\(\*Directory\).CatchUp
op.apply (authz + store calls)|directory.\(\*op\).apply
  authorization (op.need/enter)|directory.\(\*op\).(need|enter|allowed|may)
  bindings (CreateBinding/insertBinding)|insertBinding|CreateBinding
  users/members (provisionUser/addMember)|provisionUser|addMember
recordChanges (audit entries)|recordChanges
  audit encodeBody/appendEntry|audit.encodeBody|audit.appendEntry
  SHA-256|sha256
  HMAC|hmac
auditActor (roles)|auditActor
SealRun (checkpoint + queue flush)|SealRun
changelogStmts (payloads)|changelogStmts
ownWrite.apply + follower (engine)|ownWrite|follower
Commit|\.Commit$|sqlTx.Commit|pgTx.*Commit
modernc SQLite (all)|modernc.org/sqlite
  of it B-tree (sqlite3Btree*)|sqlite3Btree|balance|sqlite3Pager|_pager|_wal
pgx (all)|jackc/pgx
GC (bgMarkWorker)|gcBgMarkWorker
malloc|mallocgc
syscalls|Syscall
CATS
