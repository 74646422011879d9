#!/usr/bin/env python3
# pprofrows.py PROFILE US [PROFILE US ...]: checkcpu3's server table of a /check
# server's CPU profile (branch cost1, docs/benchmarks.md). A row is the share of
# samples whose stack holds any of the row's frames (cumulative, so rows overlap:
# mallocgc and time.Now cut across the others), times the run's server µs a
# request (loadgen run's `cpu:` line). Rows with a parent (H) count only stacks
# under the handler. Prints one column per profile.
import re, subprocess, sys
def parse(path):
    out = subprocess.run(["go","tool","pprof","-traces",path],capture_output=True,text=True,check=True).stdout
    S, cur = [], None
    for line in out.splitlines():
        if line.startswith("-----------+"):
            if cur: S.append(cur)
            cur = None; continue
        m = re.match(r"\s+([\d.]+)(ms|s|us)\s+(\S.*)$", line)
        if m: cur = [float(m.group(1))*{"ms":1e-3,"s":1,"us":1e-6}[m.group(2)], [m.group(3).strip()]]
        elif cur and line.strip(): cur[1].append(line.strip())
    if cur: S.append(cur)
    return S
H = "net/http.serverHandler.ServeHTTP"
ROWS = [
 ("net/http conn.serve, all", None, ["net/http.(*conn).serve"]),
 ("- reading the request (readRequest)", None, ["net/http.(*conn).readRequest"]),
 ("- the handler (serverHandler.ServeHTTP)", None, [H]),
 ("-- the engine (CheckWithReason)", H, ["authz.(*Engine).CheckWithReason"]),
 ("-- authentication (authenticate)", H, ["server.(*Server).authenticate"]),
 ("--- of it SHA-256", H, ["sha256."]),
 ("-- body read + decode (decodeWith)", H, ["server.(*call).decodeWith"]),
 ("--- of it net/http background read start", H, ["startBackgroundRead"]),
 ("--- of it the scanner (decodeFast)", H, ["decodeFast"]),
 ("-- the unknown_action warning (DecisionWarning)", H, ["directory.(*Asker).DecisionWarning"]),
 ("-- the org gate (Directory.Member)", H, ["directory.(*Directory).Member"]),
 ("-- the right to ask (Asker has/gate.of/holds/entry/add)", H, ["directory.(*Asker).has","directory.(*Asker).add","directory.Gate.of","directory.(*gateEntry).holds","directory.(*gateCache).entry","directory.(*gateEntry).of"]),
 ("-- question validation (directory.checkRequest)", H, ["directory.checkRequest"]),
 ("-- request build (call.request: parseAction, parseResource, checkAsked)", H, ["server.(*call).request"]),
 ("-- agent last use (uses.note)", H, ["directory.(*useRecorder).note"]),
 ("-- the decision log's settings (logDecision)", H, ["directory.(*Directory).logDecision"]),
 ("-- writeCheck", H, ["server.(*call).writeCheck"]),
 ("--- of it Header.Clone", H, ["net/http.Header.Clone"]),
 ("-- security headers", H, ["securityHeaders"]),
 ("-- route metrics (observe) + decision metrics (record)", H, ["routeMetrics).observe","decisionMetrics).record"]),
 ("-- request id", H, ["server.(*Server).requestID"]),
 ("-- client address", H, ["server.(*Server).clientAddr"]),
 ("-- path match (checkPathOrg)", H, ["checkPathOrg"]),
 ("-- logCall", H, ["server.(*Server).logCall"]),
 ("-- time.Now/Since in serve", H, ["time.Now","time.Since"]),
 ("-- mallocgc in the handler", H, ["runtime.mallocgc"]),
 ("- the answer's write (finishRequest)", None, ["net/http.(*response).finishRequest"]),
 ("- headers into the buffer (chunkWriter.writeHeader)", None, ["net/http.(*chunkWriter).writeHeader"]),
 ("mallocgc, everywhere", None, ["runtime.mallocgc"]),
 ("collector: gcBgMarkWorker + bgsweep", None, ["runtime.gcBgMarkWorker","runtime.bgsweep"]),
 ("GC assist", None, ["runtime.gcAssistAlloc"]),
 ("scheduler (mcall)", None, ["runtime.mcall"]),
 ("system calls (Syscall6), everywhere", None, ["Syscall6"]),
]
def share(S, under, pats):
    tot = sum(v for v,_ in S); x = 0.0
    for v, st in S:
        if under and not any(under in f for f in st): continue
        if any(p in f for f in st for p in pats): x += v
    return x/tot
def main(a):
    cols = []; names = []
    for p, us in zip(a[0::2], a[1::2]):
        S = parse(p); cols.append([share(S,u,ps)*float(us) for _,u,ps in ROWS]); names.append(p.split('/')[-1].replace('.pprof',''))
    print("| µs a request | " + " | ".join(names) + " |"); print("|---|" + "---:|"*len(names))
    for i,(n,_,_) in enumerate(ROWS):
        print(f"| {n} | " + " | ".join(f"{c[i]:.2f}" for c in cols) + " |")
    print("| **server CPU a request** | " + " | ".join(a[1::2]) + " |")
if __name__ == "__main__": main(sys.argv[1:])
