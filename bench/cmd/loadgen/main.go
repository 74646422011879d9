// Command loadgen measures `gatehouse serve` under load on this machine's
// loopback interface, with the orgs1m dataset (bench.Orgs: 1,000 orgs × 5
// namespaces, 1,000,000 bindings). It never runs as a test and decides
// nothing by timing: it reports figures (docs/benchmarks.md records them).
//
//	loadgen load -data DIR                       # write the dataset into DIR (a gatehouse data directory)
//	(umask 077; head -c 32 /dev/urandom | base64 > DIR.master-key)   # once: serve needs a master key
//	GATEHOUSE_MASTER_KEY_FILE=DIR.master-key gatehouse serve --data DIR --no-demo &   # serve it
//	loadgen run -data DIR -mode check            # closed loop: single-check throughput
//	loadgen run -data DIR -mode check -rate 20000 # open loop: latency at a fixed rate
//	loadgen run -data DIR -mode batch            # POST /checks with 1,000 checks per call
//	loadgen serve -data DIR -cpuprofile cpu.out   # the same server with a CPU profile
//	loadgen wrk -data DIR > checks.lua            # the single-check mix as a wrk script
//	loadgen mix -data DIR -checks 200000 -name wide # another mix; run it with -mix wide
//	loadgen floor -data DIR -addr 127.0.0.1:18081 # the mix answered by a bare net/http server (the ceiling)
//	loadgen floor -engine -data DIR -addr …       # the same server deciding with Gatehouse's engine (floor + engine)
//	loadgen floor -mimic URL -data DIR -addr …    # the floor sending that Gatehouse's answers (bytes and headers)
//	loadgen floor -spin 7us -data DIR -addr …     # the floor's answers, 7 µs of CPU later (a slower server)
//	loadgen floor -debug-addr 127.0.0.1:18091 …   # any floor, with /debug/pprof/ there
//	loadgen inproc -data DIR -cpuprofile P        # the handler alone on DIR's data, no sockets: cold against hot
//
// Invariants: it only connects to 127.0.0.1 (or ::1); every run is bounded
// by -duration (at most 10 minutes) and -max-requests; every answer is
// checked against the reference evaluator's label, and a run with any
// wrong or failed answer exits non-zero.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen load|mix|run|serve|wrk|floor|inproc [flags] (see -h of each)")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "load":
		err = cmdLoad(os.Args[2:])
	case "run":
		err = cmdRun(os.Args[2:])
	case "serve":
		err = cmdServe(os.Args[2:])
	case "wrk":
		err = cmdWrk(os.Args[2:])
	case "mix":
		err = cmdMix(os.Args[2:])
	case "floor":
		err = cmdFloor(os.Args[2:])
	case "inproc":
		err = cmdInproc(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: want load, mix, run, serve, wrk, floor or inproc", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}
