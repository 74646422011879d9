"""Client overhead per check over a raw http.client call, both on one
keep-alive connection to a real `gatehouse serve --dev` (loopback).

    GATEHOUSE_BIN=/tmp/gatehouse python3 sdk/python/bench/overhead.py [checks-per-round] [rounds]

The raw call sends pre-encoded bytes and reads the answer's bytes; the SDK
call builds the body, encodes it, decodes the answer into a Decision and
checks it. Rounds alternate raw and SDK so that server and machine noise
hit both alike; the overhead reported is the median over rounds of
(SDK - raw) per check. Goal: <= 100 us."""

from __future__ import annotations

import http.client
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from gh_server import server  # noqa: E402

import gatehouse  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    srv = server()
    token = srv.keys["CAROL_KEY"]
    host, port = srv.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    body = json.dumps({"action": "chains:run", "resource": "chains/escalation-triage", "namespace": "prod"}).encode()
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json",
               "Accept": "application/json, application/problem+json"}

    def raw() -> None:
        conn.request("POST", "/v1/orgs/demo/check", body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        if r.status != 200 or b'"allowed":true' not in data:
            raise SystemExit(f"raw: {r.status} {data!r}")

    c = gatehouse.Client(srv.url, token=token)

    def sdk() -> None:
        if not c.check("demo", "chains:run", "chains/escalation-triage", namespace="prod").allowed:
            raise SystemExit("sdk: denied")

    for f in (raw, sdk):  # warm up both connections and caches
        for _ in range(200):
            f()
    raws, sdks = [], []
    for _ in range(rounds):
        for f, out in ((raw, raws), (sdk, sdks)):
            t0 = time.perf_counter()
            for _ in range(n):
                f()
            out.append((time.perf_counter() - t0) / n * 1e6)
    diffs = [s - r for s, r in zip(sdks, raws)]
    print(f"python {sys.version.split()[0]}, {rounds} rounds x {n} checks, loopback keep-alive")
    print(f"raw http.client  per check: median {statistics.median(raws):7.1f} us  (rounds: {', '.join(f'{x:.1f}' for x in raws)})")
    print(f"gatehouse.Client per check: median {statistics.median(sdks):7.1f} us  (rounds: {', '.join(f'{x:.1f}' for x in sdks)})")
    print(f"client overhead  per check: median {statistics.median(diffs):7.1f} us  (goal <= 100 us)")


if __name__ == "__main__":
    main()
