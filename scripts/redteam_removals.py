#!/usr/bin/env python3
# Side-by-side cost of removing members (branch redteam, docs/benchmarks.md):
# starts OLD and NEW `gatehouse serve --dev` on 127.0.0.1:19520/19521, gives
# each the same org (20 namespaces, 120 provisioned viewers, NA agents and
# NA services sponsored by the owner, 10 teams bound operator in a
# namespace), then removes 120 members as the owner in blocks of 10,
# alternating which binary goes first, and prints per removal: wall time
# (client side), curl's time_total, and the server's CPU (utime+stime from
# /proc/PID/stat). Usage: NA=300 OLD=... NEW=... WORK=dir [PORT_OLD=19520 PORT_NEW=19521] python3 redteam_removals.py
import json, os, re, subprocess, sys, time, urllib.request
BINS = {"old": (os.environ.get("OLD", "/tmp/redteam/gh-old"), int(os.environ.get("PORT_OLD", "19520"))), "new": (os.environ.get("NEW", "/tmp/redteam/gh"), int(os.environ.get("PORT_NEW", "19521")))}
TCK = os.sysconf("SC_CLK_TCK")
def req(port, key, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    r = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
        headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(r) as resp: return resp.status, resp.read()
    except urllib.error.HTTPError as e: return e.code, e.read()
def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TCK
srv = {}
for name, (binp, port) in BINS.items():
    d = os.path.join(os.environ.get("WORK", "/tmp/redteam/m"), name)
    subprocess.run(["rm", "-rf", d]); os.makedirs(d)
    p = subprocess.Popen([binp, "serve", "--dev", "--data", d, "--addr", f"127.0.0.1:{port}", "--log-level", "warn"],
        stdout=open(d + "/serve.log", "w"), stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz"); break
        except Exception: time.sleep(0.2)
    key = re.search(r"gth_[A-Za-z0-9_]+", open(d + "/demo-keys.env").read()).group(0)
    st, me = req(port, key, "GET", "/v1/me"); owner = json.loads(me)["principal"]
    assert req(port, key, "POST", "/v1/orgs", {"id": "rtb"})[0] == 201
    for n in range(20): req(port, key, "POST", "/v1/orgs/rtb/namespaces", {"name": f"ns{n}"})
    for n in range(120):
        s, b = req(port, key, "POST", "/v1/users", {"org": "rtb", "id": f"m{n}", "email": f"m{n}@example.com", "role": "viewer"}); assert s == 201, b
    for n in range(int(os.environ.get("NA","300"))):
        s, b = req(port, key, "POST", "/v1/orgs/rtb/agents", {"name": f"a{n}", "role": "viewer", "sponsors": [owner]}); assert s == 201, b
        s, b = req(port, key, "POST", "/v1/orgs/rtb/services", {"name": f"s{n}", "role": "viewer"}); assert s == 201, b
    for n in range(10):
        s, b = req(port, key, "POST", "/v1/orgs/rtb/teams", {"slug": f"t{n}", "members": [f"user:m{n*10+k}" for k in range(10)]}); assert s == 201, b
        s, b = req(port, key, "POST", "/v1/orgs/rtb/bindings", {"principal": f"team:t{n}", "role": "operator", "scope": {"namespace": f"ns{n}"}}); assert s == 201, b
    srv[name] = (port, key, p)
print("setup done", time.strftime("%H:%M:%S", time.gmtime()))
res = {n: {"wall": 0.0, "cpu": 0.0, "n": 0} for n in BINS}
i = 0
curlt = {n: 0.0 for n in BINS}
for block in range(12):
    for name in (["old", "new"] if block % 2 == 0 else ["new", "old"]):
        port, key, p = srv[name]
        c0, t0 = cpu(p.pid), time.monotonic()
        for k in range(10):
            out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "-X", "DELETE", "-H", "Authorization: Bearer " + key,
                f"http://127.0.0.1:{port}/v1/orgs/rtb/members/m{block*10+k}"], capture_output=True, text=True).stdout.split()
            assert out[0] == "200", (name, out); curlt[name] += float(out[1])
        res[name]["wall"] += time.monotonic() - t0; res[name]["cpu"] += cpu(p.pid) - c0; res[name]["n"] += 10
    print("block", block, "load", open("/proc/loadavg").read().split()[:3], flush=True)
for name, r in res.items():
    print(f"{name}: {r['n']} removals, wall {1000*r['wall']/r['n']:.2f} ms each, server CPU {1000*r['cpu']/r['n']:.2f} ms each")
print("curl time_total: " + ", ".join(f"{n} {1000*curlt[n]/res[n]['n']:.2f} ms" for n in BINS))
print("ratio new/old wall %.2f cpu %.2f" % (res["new"]["wall"]/res["old"]["wall"], res["new"]["cpu"]/max(res["old"]["cpu"],1e-9)))
for name, (port, key, p) in srv.items(): p.terminate(); p.wait()
