#!/bin/sh
# run.sh: what the MCP gateway adds to a tool call, three processes apart
# (docs/benchmarks.md, "MCP gateway (issue 16)"). From the repository root:
#
#   bench/cmd/mcpload/run.sh                          # open loop, 1,000 calls/s, 3 rounds of 5 s windows
#   bench/cmd/mcpload/run.sh -rate 0 -serial 3000     # one call at a time, direct and gateway alternating
#   GATEHOUSE_BIN=/tmp/old/gatehouse bench/cmd/mcpload/run.sh   # another gatehouse build
#
# It builds gatehouse, examples/mcp-sample and mcpload into $WORK (default
# a new temporary directory), starts `gatehouse serve --dev` (SQLite, demo
# org) and the sample MCP server on loopback ports, registers the sample
# in namespace prod as the docs/mcp.md walkthrough does (its token in the
# vault, injected by the gateway), lets carol call its read-only search,
# and runs mcpload with the arguments given: the same tools/call to the
# sample directly (with its token) and through the gateway (with carol's
# API key). Both servers are stopped at the end.
#
# Pinning (2 cores): by default the generator runs on CPU 1, the sample on
# CPU 1 and gatehouse on CPU 0, so that the gateway's own work is not
# queued behind the generator's (PIN=0 turns pinning off; GW_CPUS,
# UP_CPUS, GEN_CPUS choose). The servers' CPU time per call is reported
# from /proc. `--debug-addr` serves pprof at 127.0.0.1:$DEBUG_PORT while
# the run lasts (PROFILE=SECONDS writes a CPU profile of the gateway to
# $WORK/gateway.pprof, starting PROFILE_DELAY seconds (default 3) after the
# generator starts: round 1 is direct first, so wait a window). GW_GOGC sets
# gatehouse's GOGC alone (unset: serve's own --gc-headroom-mib tuning;
# GW_HEADROOM sets that), docs/mcp-gateway.md, "Performance". GW_ARGS adds
# arguments to `gatehouse serve` (e.g. GW_ARGS='--audit-commit-window 0').
#
# The floor (PROXY=1, the default): bench/cmd/mcpproxy, a bare proxy built
# with the Go SDK the way the gateway uses it (no authentication, decision
# or audit), runs on PROXY_PORT on gatehouse's CPUs (PROXY_CPUS) and is
# measured as a third side: direct / proxy / gateway windows, the order
# rotated each round. PROXY=0 measures direct and gateway only;
# PROXY_BIN=... runs another build of it, PROXY_ARGS adds arguments to it
# (e.g. PROXY_ARGS=-stateless).
# TRACE=SECONDS writes an execution trace of gatehouse to $WORK/gateway.trace
# (TRACE_DELAY seconds after the generator starts, default 3), and
# PROXY_PROFILE=SECONDS a CPU profile of the proxy to $WORK/proxy.pprof
# (PROXY_PROFILE_DELAY; its pprof is on PROXY_DEBUG_PORT).
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd)
: "${WORK:=$(mktemp -d /tmp/mcpload.XXXXXX)}" "${GW_PORT:=18780}" "${UP_PORT:=18790}" "${DEBUG_PORT:=18781}"
: "${PIN:=1}" "${GW_CPUS:=0}" "${UP_CPUS:=1}" "${GEN_CPUS:=1}" "${PROFILE:=0}"
: "${PROXY:=1}" "${PROXY_PORT:=18792}" "${PROXY_DEBUG_PORT:=18793}" "${PROXY_CPUS:=$GW_CPUS}" "${TRACE:=0}" "${PROXY_PROFILE:=0}"
mkdir -p "$WORK"
pin() { # pin CPUS CMD...: run CMD on CPUS when pinning is on
	cpus=$1; shift
	if [ "$PIN" = 1 ] && command -v taskset >/dev/null 2>&1; then taskset -c "$cpus" "$@"; else "$@"; fi
}
spawn() { # spawn CPUS CMD... &: as pin, in place of the background subshell (so $! is CMD's PID)
	cpus=$1; shift
	if [ "$PIN" = 1 ] && command -v taskset >/dev/null 2>&1; then exec taskset -c "$cpus" "$@"; else exec "$@"; fi
}

if [ -z "${GATEHOUSE_BIN:-}" ]; then
	(cd "$root" && go build -o "$WORK/gatehouse" ./cmd/gatehouse)
	GATEHOUSE_BIN=$WORK/gatehouse
fi
(cd "$root" && go build -o "$WORK/mcp-sample" ./examples/mcp-sample)
(cd "$root/bench" && go build -o "$WORK/mcpload" ./cmd/mcpload)
if [ -z "${PROXY_BIN:-}" ]; then
	(cd "$root/bench" && go build -o "$WORK/mcpproxy" ./cmd/mcpproxy)
	PROXY_BIN=$WORK/mcpproxy
fi

token=sample-secret-token
for port in "$GW_PORT" "$UP_PORT" "$DEBUG_PORT" "$PROXY_PORT" "$PROXY_DEBUG_PORT"; do
	if curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
		echo "port $port is in use (GW_PORT, UP_PORT, DEBUG_PORT, PROXY_PORT, PROXY_DEBUG_PORT choose others)" >&2; exit 1
	fi
done
rm -rf "$WORK/data"
spawn "$GW_CPUS" env -u GOGC ${GW_GOGC:+GOGC=$GW_GOGC} ${GW_HEADROOM:+GATEHOUSE_GC_HEADROOM_MIB=$GW_HEADROOM} "$GATEHOUSE_BIN" serve --dev --data "$WORK/data" --addr "127.0.0.1:$GW_PORT" \
	--debug-addr "127.0.0.1:$DEBUG_PORT" --log-level warn ${GW_ARGS:-} >"$WORK/gatehouse.log" 2>&1 &
gw_pid=$!
spawn "$UP_CPUS" "$WORK/mcp-sample" -addr "127.0.0.1:$UP_PORT" -token "$token" >"$WORK/sample.log" 2>&1 &
up_pid=$!
px_pid=
trap 'kill "$gw_pid" "$up_pid" $px_pid 2>/dev/null || true; wait "$gw_pid" "$up_pid" $px_pid 2>/dev/null || true' EXIT INT TERM

i=0
until [ -s "$WORK/data/demo-keys.env" ] && curl -fsS "http://127.0.0.1:$GW_PORT/healthz" >/dev/null 2>&1; do
	i=$((i + 1)); [ "$i" -lt 100 ] || { echo "gatehouse did not start:" >&2; cat "$WORK/gatehouse.log" >&2; exit 1; }
	sleep 0.2
done
. "$WORK/data/demo-keys.env"
export GATEHOUSE_URL="http://127.0.0.1:$GW_PORT" GATEHOUSE_TOKEN="$ALICE_KEY"
gh() { "$GATEHOUSE_BIN" "$@" >>"$WORK/setup.log" 2>&1 || { echo "setup: gatehouse $* failed:" >&2; tail -5 "$WORK/setup.log" >&2; exit 1; }; }
printf %s "$token" | gh secret set SAMPLE_TOKEN -n prod
gh mcp import --server sample --url "http://127.0.0.1:$UP_PORT/mcp" -n prod --credential-secret SAMPLE_TOKEN
"$GATEHOUSE_BIN" mcp suggest --server sample -n prod >"$WORK/sample-tools.policy"
"$GATEHOUSE_BIN" policy get >"$WORK/org.policy"
cat "$WORK/sample-tools.policy" >>"$WORK/org.policy"
gh policy put "$WORK/org.policy"
gh bind user:carol sample_tool_caller -n prod --resource tools/sample.search

proxy_args=
if [ "$PROXY" = 1 ]; then
	spawn "$PROXY_CPUS" "$PROXY_BIN" -addr "127.0.0.1:$PROXY_PORT" -debug-addr "127.0.0.1:$PROXY_DEBUG_PORT" \
		-upstream "http://127.0.0.1:$UP_PORT/mcp" -upstream-token "$token" ${PROXY_ARGS:-} >"$WORK/proxy.log" 2>&1 &
	px_pid=$!
	i=0
	until grep -q 'mcpproxy:' "$WORK/proxy.log" 2>/dev/null; do
		i=$((i + 1)); [ "$i" -lt 50 ] || { echo "mcpproxy did not start:" >&2; cat "$WORK/proxy.log" >&2; exit 1; }
		sleep 0.2
	done
	proxy_args="-proxy http://127.0.0.1:$PROXY_PORT/mcp -proxy-pid $px_pid"
fi

bg_pids=
if [ "$PROFILE" != 0 ]; then
	(sleep "${PROFILE_DELAY:-3}"; curl -fsS -o "$WORK/gateway.pprof" "http://127.0.0.1:$DEBUG_PORT/debug/pprof/profile?seconds=$PROFILE") &
	bg_pids="$bg_pids $!"
fi
if [ "$TRACE" != 0 ]; then
	(sleep "${TRACE_DELAY:-3}"; curl -fsS -o "$WORK/gateway.trace" "http://127.0.0.1:$DEBUG_PORT/debug/pprof/trace?seconds=$TRACE") &
	bg_pids="$bg_pids $!"
fi
if [ "$PROXY_PROFILE" != 0 ] && [ -n "$px_pid" ]; then
	(sleep "${PROXY_PROFILE_DELAY:-3}"; curl -fsS -o "$WORK/proxy.pprof" "http://127.0.0.1:$PROXY_DEBUG_PORT/debug/pprof/profile?seconds=$PROXY_PROFILE") &
	bg_pids="$bg_pids $!"
fi
echo "gatehouse $GATEHOUSE_BIN (pid $gw_pid, CPUs ${GW_CPUS}), sample (pid $up_pid, CPUs ${UP_CPUS}), proxy ${px_pid:-off} (CPUs ${PROXY_CPUS}), generator CPUs ${GEN_CPUS}, pinning $PIN; work dir $WORK"
# shellcheck disable=SC2086 # proxy_args is words
pin "$GEN_CPUS" "$WORK/mcpload" \
	-direct "http://127.0.0.1:$UP_PORT/mcp" -direct-token "$token" $proxy_args \
	-gateway "http://127.0.0.1:$GW_PORT/mcp/demo/prod/sample" -gateway-token "$CAROL_KEY" \
	-gateway-pid "$gw_pid" -upstream-pid "$up_pid" "$@"
for p in $bg_pids; do wait "$p"; done
