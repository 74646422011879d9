#!/usr/bin/env bash
# pgwait.sh DB OUT: once a `gatehouse import .../facts.jsonl` runs, sample
# every 50 ms what the backends of database DB do (state, wait event;
# "CPU" where none), until the import ends; pgwait-sum.sh OUT averages.
# Issue 19 goal 4, branch writes17 (docs/benchmarks.md).
db=$1 out=$2
pat='import .*/facts.jsonl'
for _ in $(seq 2000); do pgrep -f "$pat" >/dev/null && break; sleep 0.05; done
imp=$(pgrep -f "$pat" | head -1)
[ -z "$imp" ] && exit 0
psql -h 127.0.0.1 -U postgres -d postgres -Atq -F' ' >"$out" 2>/dev/null <<SQL &
SELECT coalesce(state,'-'), coalesce(wait_event_type,'CPU'), coalesce(wait_event,'-'), count(*) FROM pg_stat_activity WHERE datname = '$db' AND state <> 'idle' GROUP BY 1,2,3 UNION ALL SELECT 'idle', '-', '-', count(*) FROM pg_stat_activity WHERE datname = '$db' AND state = 'idle' UNION ALL SELECT 'sample','-','-',1 \watch 0.05
SQL
w=$!
while kill -0 "$imp" 2>/dev/null; do sleep 0.1; done
kill $w
