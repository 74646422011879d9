// Client overhead per check: the SDK's check() against a raw fetch of the
// same request, both on keep-alive connections to a real `gatehouse serve
// --dev` on loopback, measured side by side in alternating rounds (so
// machine noise hits both alike). A second measurement replaces the
// network with a fetch that answers a canned response at once, which
// isolates the SDK's own CPU cost. Goal (issue 17): ≤ 50 µs per check.
//
//   cd sdk/typescript && npm run bench            (BENCH_N, BENCH_ROUNDS tune it)
import { Gatehouse, type FetchLike } from "../src/index.js";
import { startServer } from "../test/harness.js";

const N = Number(process.env.BENCH_N ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);

const question = { principal: "user:bob", action: "chains:run", resource: "chains/database-migration", namespace: "prod" };
const wireBody = JSON.stringify(question);

/** Microseconds per call of f over n calls. */
async function perCall(n: number, f: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await f();
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function compare(name: string, raw: () => Promise<unknown>, sdk: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await raw();
    await sdk();
  }
  const r: number[] = [];
  const s: number[] = [];
  for (let k = 0; k < ROUNDS; k++) {
    r.push(await perCall(N, raw));
    s.push(await perCall(N, sdk));
  }
  const diffs = r.map((x, i) => s[i] - x);
  console.log(
    `${name.padEnd(34)} raw ${median(r).toFixed(1).padStart(7)} µs  sdk ${median(s).toFixed(1).padStart(7)} µs  ` +
      `overhead (median of per-round differences) ${median(diffs).toFixed(1).padStart(6)} µs  sdk/raw ${(median(s) / median(r)).toFixed(3)}`,
  );
}

const srv = await startServer();
try {
  const token = srv.keys.ALICE_KEY;
  const url = srv.baseUrl + "/v1/orgs/demo/check";
  const headers = { Authorization: "Bearer " + token, "Content-Type": "application/json", Accept: "application/json" };
  const raw = async () => {
    const res = await fetch(url, { method: "POST", headers, body: wireBody });
    const v = (await res.json()) as { allowed: boolean };
    if (!v.allowed) throw new Error("expected an allow");
  };
  const org = new Gatehouse({ baseUrl: srv.baseUrl, token }).org("demo");
  const sdk = async () => {
    const v = await org.check(question);
    if (!v.allowed) throw new Error("expected an allow");
  };
  console.log(`node ${process.version}, ${N} checks per round, ${ROUNDS} rounds, alternating`);
  await compare("loopback, keep-alive", raw, sdk);

  // The SDK's own cost: the same two paths over a fetch that answers at once.
  const canned = JSON.stringify({ allowed: true, revision: 7 });
  const stub: FetchLike = async () => new Response(canned, { status: 200, headers: { "Content-Type": "application/json" } });
  const rawStub = async () => {
    const res = await stub(url, { method: "POST", headers, body: wireBody });
    const v = (await res.json()) as { allowed: boolean };
    if (!v.allowed) throw new Error("expected an allow");
  };
  const stubOrg = new Gatehouse({ baseUrl: srv.baseUrl, token, fetch: stub }).org("demo");
  const sdkStub = async () => {
    const v = await stubOrg.check(question);
    if (!v.allowed) throw new Error("expected an allow");
  };
  await compare("in-process (canned answer)", rawStub, sdkStub);
} finally {
  await srv.stop();
}
