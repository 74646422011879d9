#!/usr/bin/env bash
# Load ../shared/peers' workload into a fresh Gatehouse through the bulk
# write route (gatehouse import) and print the timings and the server's CPU
# per fact, as the peers harness reports them for its `load` test.
#
#   GATEHOUSE_BIN=/path/to/gatehouse PEERS_JSONL=/path/to/peers.jsonl \
#     [DATABASE=postgres://…] [FACTS=N] [IMPORT_FLAGS='--parallel 2'] bench/cmd/peersimport/load.sh WORKDIR
#
# IMPORT_FLAGS are added to both `gatehouse import` commands.
# AFTER_INIT, if set, is run by bash after `gatehouse init` and before
# `serve`, with DATABASE and DATA (the data directory, where SQLite's
# gatehouse.db is) in its environment (e.g. to alter the schema for an
# experiment: ablate/README.md).
# TRACE=FILE takes a runtime/trace of the server TRACE_SECONDS (3) long,
# TRACE_AFTER (1) seconds into the facts phase.
# FACTS=N loads only the first N facts (users first: see peersimport).
# PEERS_JSONL comes from `cd ../shared/peers && go run . gen -jsonl FILE`.
# Without DATABASE the store is SQLite in WORKDIR (the peers' setup for
# Gatehouse); with it, PostgreSQL (that database must be empty).
set -euo pipefail
W=${1:?usage: load.sh WORKDIR}
: "${GATEHOUSE_BIN:?set GATEHOUSE_BIN}" "${PEERS_JSONL:?set PEERS_JSONL}"
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$W"
(cd "$here/../.." && go run ./cmd/peersimport -in "$PEERS_JSONL" -out "$W")
if [[ -n "${FACTS:-}" ]]; then
	head -n "$FACTS" "$W/facts.jsonl" >"$W/facts.part" && mv "$W/facts.part" "$W/facts.jsonl"
fi
rm -rf "$W/data"
db=()
if [[ -n "${DATABASE:-}" ]]; then
	# On PostgreSQL the audit signing key is not created beside the
	# database: make one where serve looks for it.
	db=(--database "$DATABASE")
	mkdir -p "$W/data"
	"$GATEHOUSE_BIN" audit keygen --out "$W/data/audit-key.pem" >/dev/null
fi
"$GATEHOUSE_BIN" init --data "$W/data" "${db[@]}" --user loader >"$W/init.out" 2>&1
if [[ -n "${AFTER_INIT:-}" ]]; then DATABASE=${DATABASE:-} DATA="$W/data" bash -c "$AFTER_INIT"; fi
GATEHOUSE_TOKEN=$(grep -o 'gth_[A-Za-z0-9_]*' "$W/init.out")
export GATEHOUSE_TOKEN
(umask 077 && head -c 32 /dev/urandom | base64 >"$W/master.key")
port=${PORT:-18290}
GATEHOUSE_MASTER_KEY_FILE="$W/master.key" "$GATEHOUSE_BIN" serve --data "$W/data" "${db[@]}" \
	--addr "127.0.0.1:$port" --debug-addr "127.0.0.1:$((port + 2))" --log-level warn >"$W/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
export GATEHOUSE_SERVER="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$GATEHOUSE_SERVER/readyz" >/dev/null && break; sleep 0.1; done
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; } # utime + stime, clock ticks
# pgcpu: the CPU of every process named postgres (its backends persist in
# the server's pool), clock ticks; 0 on SQLite. pgdbcpu: only the backends
# connected to this load's database (on a machine where others use the
# same PostgreSQL, the figure that is this load's own; it leaves out the
# WAL writer and checkpointer, which serve every database).
pgcpu() {
	if [[ -z "${DATABASE:-}" ]]; then echo 0; return; fi
	for p in $(pgrep -x postgres); do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || true; done | awk '{s += $1} END {print s + 0}'
}
pgdbcpu() { # "pid ticks" a line
	if [[ -z "${DATABASE:-}" ]]; then return; fi
	for p in $(psql "$DATABASE" -Atc "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"); do
		awk -v p="$p" '{print p, $14 + $15}' "/proc/$p/stat" 2>/dev/null || true # it may have exited: set -e must not stop the load
	done
}
hz=$(getconf CLK_TCK)
now() { date +%s.%N; }
# mstat: the machine's "busy idle" ticks from /proc/stat (idle = idle +
# iowait; busy = the rest but guest time, which user already counts), for
# the share of the machine's cores busy during the facts phase (every
# process's, this load's and anyone else's).
mstat() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat; }

c0=$(cpu); t0=$(now)
while read -r org; do
	curl -sf -o /dev/null -H "Authorization: Bearer $GATEHOUSE_TOKEN" -H "Content-Type: application/json" -d "{\"id\":\"$org\",\"template\":\"agent-platform\"}" "$GATEHOUSE_SERVER/v1/orgs"
	curl -sf -o /dev/null -H "Authorization: Bearer $GATEHOUSE_TOKEN" -H "Content-Type: application/json" -d '{"name":"member","level":0,"permissions":[]}' "$GATEHOUSE_SERVER/v1/orgs/$org/roles"
done <"$W/orgs.txt"
"$GATEHOUSE_BIN" import "$W/structure.jsonl" --timeout 30m ${IMPORT_FLAGS:-}
t1=$(now); c1=$(cpu); p1=$(pgcpu); pgdbcpu >"$W/pgdb1"; m1=$(mstat)
if [[ -n "${TRACE:-}" ]]; then # an execution trace of the server during the facts phase
	(sleep "${TRACE_AFTER:-1}" && curl -sf -o "$TRACE" "http://127.0.0.1:$((port + 2))/debug/pprof/trace?seconds=${TRACE_SECONDS:-3}") &
fi
TIMEFORMAT='%U %S' # the import's own CPU (user, system), for the client's CPU per fact
{ time "$GATEHOUSE_BIN" import "$W/facts.jsonl" --timeout 60m ${IMPORT_FLAGS:-} 2>&3; } 3>&2 2>"$W/client.time"
t2=$(now); c2=$(cpu); p2=$(pgcpu); pgdbcpu >"$W/pgdb2"; m2=$(mstat)
# per backend: its ticks since t1 (all of them if it connected later)
d=$(awk 'NR == FNR {t[$1] = $2; next} {s += $2 - ($1 in t ? t[$1] : 0)} END {print s + 0}' "$W/pgdb1" "$W/pgdb2")
facts=$(wc -l <"$W/facts.jsonl")
awk -v W="$W" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v c0="$c0" -v c1="$c1" -v c2="$c2" -v p1="$p1" -v p2="$p2" -v d="$d" -v hz="$hz" -v n="$facts" -v m1="$m1" -v m2="$m2" -v ncpu="$(nproc)" 'BEGIN {
	printf "structure load s %.2f\nfacts load s %.2f (%d facts, %.0f facts/s)\n", t1 - t0, t2 - t1, n, n / (t2 - t1)
	printf "server CPU µs/fact, facts phase %.1f; structure phase included %.1f\n", (c2 - c1) / hz / n * 1e6, (c2 - c0) / hz / n * 1e6
	getline ct <(W "/client.time"); split(ct, c, " ")
	printf "client (gatehouse import) CPU µs/fact, facts phase %.1f\n", (c[1] + c[2]) / n * 1e6
	if (p2 > 0) printf "PostgreSQL CPU µs/fact, facts phase %.1f (backends of its database %.1f)\n", (p2 - p1) / hz / n * 1e6, d / hz / n * 1e6
	# cores busy: the whole machine (/proc/stat), and this load alone (server,
	# the backends of its database, the import client) over the phase
	split(m1, a, " "); split(m2, b, " ")
	own = (c2 - c1 + d) / hz + c[1] + c[2]
	printf "cores busy, facts phase (of %d): machine %.2f (idle %.0f %%); this load (server + PostgreSQL + client) %.2f\n", ncpu, (b[1] - a[1]) / hz / (t2 - t1), 100 * (b[2] - a[2]) / ((b[1] - a[1]) + (b[2] - a[2])), own / (t2 - t1)
}'
printf 'RSS after load MiB %.0f\n' "$(awk '/VmRSS/ {print $2 / 1024}' "/proc/$pid/status")"
