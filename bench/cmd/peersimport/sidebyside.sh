#!/usr/bin/env bash
# Issue 19 goal 4, side by side on this machine: the peers' 121,306 facts
# loaded into Gatehouse through its bulk importer (load.sh: SQLite, then
# PostgreSQL) and into SpiceDB on PostgreSQL through the peers' own loader
# (`peers load`, 4 writers, 100 tuples a request: what ../shared/peers/run.sh
# does), in the same minutes, the order rotating every round. A figure from
# another day or another host is not a ratio: this machine's speed moves by
# 2× between sessions.
#
#   GATEHOUSE_BIN=/path/to/gatehouse SPICEDB_BIN=/path/to/spicedb \
#     [ROUNDS=2] [IMPORT_FLAGS='--parallel 2'] [SYSTEMS='gh-sqlite gh-pg spicedb-pg'] \
#     [OLD_GATEHOUSE_BIN=/path/to/another/gatehouse] [GH_PORT=18290] [SDB_PORT=18240] [DB_PREFIX=sxs] \
#     bench/cmd/peersimport/sidebyside.sh WORKDIR
# (SYSTEMS may also name gh-pg-orgwrites: PostgreSQL with concurrent org
# writes, `serve --postgres-org-writes` (the default since branch
# writes8), and `import --parallel 4`; gh-pg-serial: `serve
# --postgres-org-writes=false`, `import --parallel 2`. A system prefixed
# old- (old-gh-pg, old-gh-pg-orgwrites, ...) runs OLD_GATEHOUSE_BIN.
# A system suffixed @V (gh-sqlite@b, gh-pg-orgwrites@b, ...) is variant V:
# it runs GH_BIN_V (default GATEHOUSE_BIN) with the space-separated
# VAR=value words of GH_ENV_V in the server's environment and GH_AFTER_INIT_V
# as load.sh's AFTER_INIT; V is letters, digits and _. With COUNTS=1 each
# Gatehouse load is followed by its row counts (users, members, bindings,
# audit_entries, changelog) in WORKDIR/LABEL.counts and the results' last
# column, so that a variant is seen to load every fact: ablate/run.sh.)
#
# SpiceDB builds from the module proxy (≈ 10 min on 2 cores):
#   GOBIN=$BIN go install github.com/authzed/spicedb/cmd/spicedb@v1.56.2
# PostgreSQL at 127.0.0.1:5432 (user postgres, trust); the databases
# ${DB_PREFIX}_gatehouse and ${DB_PREFIX}_spicedb are dropped and created
# every round. Ports: Gatehouse GH_PORT to GH_PORT+2, SpiceDB SDB_PORT to
# SDB_PORT+2.
#
# Prints one line per load and, at the end, each system's facts seconds
# and SpiceDB's time over Gatehouse's (≥ 1.0 means Gatehouse is at least
# as fast).
set -euo pipefail
W=${1:?usage: sidebyside.sh WORKDIR}
: "${GATEHOUSE_BIN:?set GATEHOUSE_BIN}" "${SPICEDB_BIN:?set SPICEDB_BIN}"
here=$(cd "$(dirname "$0")" && pwd)
peers_src=$(cd "$here/../../.." && pwd)/../shared/peers
ROUNDS=${ROUNDS:-2}
SYSTEMS=(${SYSTEMS:-gh-sqlite gh-pg spicedb-pg})
PG=${PG:-postgres://postgres@127.0.0.1:5432}
GH_PORT=${GH_PORT:-18290}
SDB_PORT=${SDB_PORT:-18240}
DB_PREFIX=${DB_PREFIX:-sxs}
mkdir -p "$W"
W=$(cd "$W" && pwd)
(cd "$peers_src" && go build -o "$W/peers" .)
[[ -s "$W/peers.jsonl" ]] || "$W/peers" gen -jsonl "$W/peers.jsonl" >/dev/null
reset_db() { psql "$PG/postgres" -q -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" 2>/dev/null; }
la() { cut -d' ' -f1 /proc/loadavg; }
mstat() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat; } # busy, idle ticks
RES="$W/sidebyside.tsv"
: >"$RES"

gatehouse() { # label [database [env...]]
	local label=$1 out="$W/$1.r$round.out" bin=$GATEHOUSE_BIN v="" extra=() after=${AFTER_INIT:-}
	if [[ $label == old-* ]]; then bin=${OLD_GATEHOUSE_BIN:?set OLD_GATEHOUSE_BIN for $label}; fi
	if [[ $label == *@* ]]; then
		v=${label#*@}
		local bv=GH_BIN_$v ev=GH_ENV_$v av=GH_AFTER_INIT_$v
		bin=${!bv:-$bin}
		read -r -a extra <<<"${!ev:-}"
		after=${!av:-$after}
	fi
	local db=(IMPORT_FLAGS="${IMPORT_FLAGS:---parallel 2}" AFTER_INIT="$after" "${extra[@]}")
	if [[ -n "${2:-}" ]]; then reset_db "$2"; db+=(DATABASE="$PG/$2?sslmode=disable" "${@:3}"); fi
	local l0; l0=$(la)
	env GATEHOUSE_BIN="$bin" PEERS_JSONL="$W/peers.jsonl" PORT="$GH_PORT" "${db[@]}" \
		bash "$here/load.sh" "$W/$label" >"$out" 2>&1
	local counts="-"
	if [[ ${COUNTS:-} == 1 ]]; then
		local q="SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM members), (SELECT count(*) FROM bindings), (SELECT count(*) FROM audit_entries), (SELECT count(*) FROM changelog)"
		if [[ -n "${2:-}" ]]; then
			psql "$PG/$2" -Atc "$q" | tr '|' ' ' >"$W/$label.counts"
		else
			sqlite3 "$W/$label/data/gatehouse.db" ".timeout 30000" "$q" | tr '|' ' ' >"$W/$label.counts"
		fi
		counts=$(tr ' ' / <"$W/$label.counts")
	fi
	awk -v r="$round" -v l="$label" -v l0="$l0" -v l1="$(la)" -v n="$counts" '
		/^facts load s/ {s = $4}
		/^server CPU/ {c = $6; sub(";", "", c); ca = $10}
		/^PostgreSQL CPU/ {p = $6; d = $11; sub("\\)", "", d); p = p " (" d ")"}
		END {printf "%s\t%s\t%s\t%s (%s)\t%s\t%s-%s\t%s\n", r, l, s, c, ca, (p == "" ? "-" : p), l0, l1, n}' "$out" | tee -a "$RES"
}
spicedb() {
	local uri="$PG/${DB_PREFIX}_spicedb?sslmode=disable" log="$W/spicedb.log"
	reset_db "${DB_PREFIX}_spicedb"
	"$SPICEDB_BIN" datastore migrate head --datastore-engine postgres --datastore-conn-uri "$uri" \
		--skip-release-check --log-level error >>"$log" 2>&1
	export PEERS_SDB_TOKEN=sxs-$RANDOM$RANDOM
	"$SPICEDB_BIN" serve --datastore-engine postgres --datastore-conn-uri "$uri" \
		--grpc-preshared-key "$PEERS_SDB_TOKEN" --grpc-addr "127.0.0.1:$((SDB_PORT + 1))" \
		--http-enabled --http-addr "127.0.0.1:$SDB_PORT" --metrics-enabled --metrics-addr "127.0.0.1:$((SDB_PORT + 2))" \
		--telemetry-endpoint "" --skip-release-check --log-level warn >>"$log" 2>&1 &
	local pid=$!
	for _ in $(seq 600); do curl -fsS -o /dev/null "http://127.0.0.1:$SDB_PORT/healthz" 2>/dev/null && break; sleep 0.1; done
	local pgpid l0; l0=$(la)
	pgpid=$(ps -eo pid=,ppid=,comm= | awk '$3=="postgres" && $2==1 {print $1; exit}')
	local m0 w0; m0=$(mstat); w0=$(date +%s.%N)
	"$W/peers" load -system spicedb -label spicedb-pg -sdb-url "http://127.0.0.1:$SDB_PORT" \
		-sdb-schema "$peers_src/models/spicedb.zed" -pid "$pid" -pg-pid "$pgpid" -workers 4 -rep "$round" >"$W/spicedb.json"
	local m1 w1; m1=$(mstat); w1=$(date +%s.%N)
	kill "$pid"; wait "$pid" 2>/dev/null || true
	# the machine's cores busy over the whole load (/proc/stat: load.sh's mstat)
	awk -v a="$m0" -v b="$m1" -v hz="$(getconf CLK_TCK)" -v s="$(echo "$w1 - $w0" | bc)" -v r="$round" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		printf "spicedb-pg round %s: cores busy over the whole load, machine %.2f (idle %.0f %%)\n", r, (y[1] - x[1]) / hz / s, 100 * (y[2] - x[2]) / ((y[1] - x[1]) + (y[2] - x[2]))
	}' >>"$W/spicedb.busy"
	# peers reports PostgreSQL's CPU over its whole load (structure included)
	sed 's/.*"server_cpu_us_per_req":\([0-9.]*\).*"pg_cpu_us_per_req":\([0-9.]*\).*"facts_s":\([0-9.]*\).*/\1 \2 \3/' "$W/spicedb.json" |
		awk -v r="$round" -v l0="$l0" -v l1="$(la)" '{printf "%s\tspicedb-pg\t%.2f\t(%.1f)\t(%.1f)\t%s-%s\n", r, $3, $1, $2, l0, l1}' | tee -a "$RES"
}

# CPU per fact: Gatehouse's over the facts phase, and in parentheses over the
# whole load (its structure phase included: orgs, namespaces, 30,000
# resources); peers reports SpiceDB's only over the whole load (its
# structure's 30,300 parent tuples included), both divided by the facts.
# Gatehouse's PostgreSQL figure is the facts phase, SpiceDB's the whole load;
# Gatehouse's is every postgres process's and, in parentheses, only its
# database's backends' (the figure that is this load's own when others use
# the same PostgreSQL). Each load's output is WORKDIR/LABEL.rROUND.out.
printf 'round\tsystem\tfacts s\tserver CPU µs/fact (whole load)\tPostgreSQL CPU µs/fact\tload average\tusers/members/bindings/audit/changelog\n'
n=${#SYSTEMS[@]}
for round in $(seq "$ROUNDS"); do
	k=$(((round - 1) % n))
	for s in "${SYSTEMS[@]:$k}" "${SYSTEMS[@]:0:$k}"; do
		case ${s%@*} in
		gh-sqlite | old-gh-sqlite) gatehouse "$s" ;;
		gh-pg | old-gh-pg) gatehouse "$s" "${DB_PREFIX}_gatehouse" ;;
		gh-pg-orgwrites | old-gh-pg-orgwrites) gatehouse "$s" "${DB_PREFIX}_gatehouse" GATEHOUSE_POSTGRES_ORG_WRITES=true IMPORT_FLAGS='--parallel 4' ;;
		gh-pg-serial | old-gh-pg-serial) gatehouse "$s" "${DB_PREFIX}_gatehouse" GATEHOUSE_POSTGRES_ORG_WRITES=false IMPORT_FLAGS='--parallel 2' ;;
		spicedb-pg) spicedb ;;
		esac
	done
done
echo
awk -F'\t' '{t[$2] = t[$2] " " $3; if ($2 == "spicedb-pg") {sdb += $3; ns++} else {gh[$2] += $3; ng[$2]++}}
	END {
		for (s in t) printf "%s facts s:%s\n", s, t[s]
		if (ns) for (s in gh) printf "SpiceDB mean / %s mean = %.2f\n", s, (sdb / ns) / (gh[s] / ng[s])
	}' "$RES"
