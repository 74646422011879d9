// Command mcpload measures what the MCP gateway adds to a tool call: it
// sends the same JSON-RPC tools/call request to an MCP server directly,
// to the same server through `gatehouse serve`'s gateway, and (-proxy)
// through a bare proxy built with the same SDK (bench/cmd/mcpproxy: the
// floor), in windows whose order rotates round by round, and reports each
// side's latency quantiles, what the proxy adds over direct and the
// gateway over the proxy, and each server's CPU per call
// (docs/benchmarks.md, "MCP gateway (issue 16)" and "MCP gateway: the
// SDK's floor"; run.sh beside this file starts the processes and runs
// it).
//
//	mcpload -direct http://127.0.0.1:8090/mcp -direct-token T \
//	        -gateway http://127.0.0.1:8080/mcp/demo/prod/sample -gateway-token K \
//	        -tool search -args '{"query":"invoice"}' -rate 1000 -window 5s -rounds 3
//
// It is its own process, so that the generator's work is not charged to
// the servers' cores, and a cheap one: a raw HTTP client that initializes
// one MCP session per side and then POSTs tools/call with the session's
// Mcp-Session-Id, parsing the JSON (or single-event SSE) answer. Open loop
// (-rate R): call k is due at start + k/R whatever the earlier calls do,
// and its latency is measured from that due time (no coordinated
// omission). Serial (-rate 0): one call at a time, direct and gateway
// alternating call by call.
//
// Invariants: it only connects to the loopback interface; every run is
// bounded (-window ≤ 1 min, -rounds ≤ 20, -rate ≤ 20,000, -serial ≤
// 1,000,000 calls); every answer is checked (a JSON-RPC result whose
// isError is false), and a run with any failed call exits non-zero. It
// decides nothing by timing: it reports figures.
package main

import (
	"fmt"
	"os"
)

func main() {
	c, err := parseFlags(os.Args[1:])
	if err == nil {
		err = run(c, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcpload:", err)
		os.Exit(1)
	}
}
