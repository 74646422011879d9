#!/usr/bin/env python3
# Per-request CPU of a server by category (branch checkcpu6, docs/benchmarks.md):
# reads a CPU profile's stacks (`go tool pprof -traces FILE`), puts every
# sample in the first category below whose rule its stack matches, and
# scales the shares by the run's server CPU a request (loadgen run's `cpu:`
# line). Usage: python3 pprofcat.py PROFILE US_PER_REQUEST [PROFILE US ...]
# prints one column per profile. The rules are checked in this order:
#   GC: background mark / assist / sweep and the rest (gcBgMarkWorker,
#     gcAssistAlloc, bgsweep, sweepone, bgscavenge, gcStart, gcMark*);
#   handler: (under net/http.serverHandler.ServeHTTP, or Gatehouse's ServeHTTP
#     called without net/http as by `loadgen inproc`) engine (authz.),
#     authentication, body read + decode, decision log settings, org gate /
#     right to ask / warning (the directory's Asker and gate), answer
#     (writeCheck, WriteHeader, the body's write into net/http's buffer),
#     malloc, other;
#   net/http conn (under conn.serve, outside the handler): syscall write,
#     syscall read, other syscalls, deadlines, malloc, other;
#   scheduler/netpoll (mcall, schedule, findRunnable, netpoll, sysmon, futex);
#   background goroutines (any other stack in this program's or the
#     runtime's goroutines), other runtime.
import re, subprocess, sys

def parse(path):
    out = subprocess.run(["go", "tool", "pprof", "-traces", path], capture_output=True, text=True, check=True).stdout
    samples, cur = [], None
    for line in out.splitlines():
        if line.startswith("-----------+"):
            if cur:
                samples.append(cur)
            cur = None
            continue
        m = re.match(r"\s+([\d.]+)(ms|s|us)\s+(\S.*)$", line)
        if m:
            cur = [float(m.group(1)) * {"ms": 1e-3, "s": 1, "us": 1e-6}[m.group(2)], [m.group(3).strip()]]
        elif cur and line.strip():
            cur[1].append(line.strip())
    if cur:
        samples.append(cur)
    return samples

def category(st):
    has = lambda *ps: any(p in f for f in st for p in ps)
    if has("gcBgMarkWorker"): return "GC: background mark"
    if has("gcAssistAlloc"): return "GC: assist"
    if has("bgsweep", "sweepone", "bgscavenge", "gcStart", "gcMarkDone", "gcMarkTermination"): return "GC: sweep and the rest"
    if has("net/http.serverHandler.ServeHTTP", "server.(*Server).ServeHTTP"):
        if has("authz."): return "handler: engine"
        if has("Authenticate"): return "handler: authentication"
        if has("decodeWith", "readBody", "body).Read", "io.Copy"): return "handler: body read + decode"
        if has("logDecision"): return "handler: decision log settings"
        if has("Directory).Member", "gateEntry", "Asker", "checkApproval"): return "handler: org gate, right to ask, warning"
        if has("writeCheck", "WriteHeader", "response).Write"): return "handler: answer (headers, body)"
        if has("mallocgc", "newobject"): return "handler: malloc"
        return "handler: other"
    if has("net/http.(*conn).serve"):
        if has("syscall.write"): return "net/http: syscall write"
        if has("syscall.read"): return "net/http: syscall read"
        if has("Syscall"): return "net/http: other syscalls"
        if has("Deadline"): return "net/http: deadlines"
        if has("mallocgc", "newobject"): return "net/http: malloc"
        return "net/http: other"
    if has("runtime.mcall", "runtime.schedule", "findRunnable", "netpoll", "runtime.sysmon", "futex"): return "scheduler/netpoll"
    if has("runtime.goexit", "main.", "gatehouse"): return "background goroutines"
    return "other runtime"

def main(args):
    if len(args) < 2 or len(args) % 2:
        sys.exit("usage: pprofcat.py PROFILE US_PER_REQUEST [PROFILE US_PER_REQUEST ...]")
    cols, names = [], []
    for path, us in zip(args[0::2], args[1::2]):
        agg, total = {}, 0.0
        for v, st in parse(path):
            c = category(st)
            agg[c] = agg.get(c, 0) + v
            total += v
        cols.append({c: float(us) * v / total for c, v in agg.items()})
        names.append(path)
    keys = sorted({c for col in cols for c in col})
    print("| µs a request | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for c in keys:
        print(f"| {c} | " + " | ".join(f"{col[c]:.1f}" if c in col else "–" for col in cols) + " |")
    print("| **total** | " + " | ".join(f"**{float(u):.1f}**" for u in args[1::2]) + " |")

if __name__ == "__main__":
    main(sys.argv[1:])
