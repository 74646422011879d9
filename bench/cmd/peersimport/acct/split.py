#!/usr/bin/env python3
"""Split the lock accounting of a load.sh run (serve.log of a server built
with acct.patch and run with GATEHOUSE_ACCT=1) into the facts phase's users
batches, the rest, and the whole facts phase: µs of wall time per fact in
each phase of directory.Write (see README.md).

usage: split.py WORKDIR/serve.log [STRUCTURE_BATCHES]   (100 for the peers' load: its structure file is 100 requests)
"""
import re
import sys

lines = [l for l in open(sys.argv[1]) if l.startswith('acct')]
k = int(sys.argv[2]) if len(sys.argv) > 2 else 100


def parse(l):
    m = re.match(r'acct batches (\d+) facts (\d+) µs/fact:(.*)', l)
    f = int(m.group(2))
    d = {}
    for kv in m.group(3).split():
        a, b = kv.split('=')
        d[a] = float(b) * f
    return f, d


for a, b, name in [(k, k + 100, 'users batches'), (k + 100, len(lines), 'other batches'), (k, len(lines), 'facts phase')]:
    f0, d0 = parse(lines[a - 1])
    f1, d1 = parse(lines[b - 1])
    n = f1 - f0
    print(f"{name}: {n} facts, {b - a} requests; µs per fact:",
          " ".join(f"{x}={(d1[x] - d0[x]) / n:.1f}" for x in d1),
          f"(total {(d1['total'] - d0['total']) / 1e6:.2f} s, lock held {(d1['held'] - d0['held']) / 1e6:.2f} s)")
