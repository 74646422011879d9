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

/** Microseconds one call of f takes. */
async function once(f: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1000;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Times raw and sdk call by call, alternating which goes first, and
 * reports the medians and the median of the paired differences (sdk − raw
 * of the same iteration), which cancels load that drifts slower than a
 * pair of calls.
 */
async function compare(name: string, raw: () => Promise<unknown>, sdk: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await raw();
    await sdk();
  }
  const r: number[] = [];
  const s: number[] = [];
  const d: number[] = [];
  for (let i = 0; i < N * ROUNDS; i++) {
    let a: number, b: number;
    if (i % 2 === 0) {
      a = await once(raw);
      b = await once(sdk);
    } else {
      b = await once(sdk);
      a = await once(raw);
    }
    r.push(a);
    s.push(b);
    d.push(b - a);
  }
  console.log(
    `${name.padEnd(28)} raw ${median(r).toFixed(1).padStart(7)} µs  sdk ${median(s).toFixed(1).padStart(7)} µs  ` +
      `overhead (median paired sdk−raw) ${median(d).toFixed(1).padStart(6)} µs  sdk/raw ${(median(s) / median(r)).toFixed(3)}`,
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
  console.log(`node ${process.version}, ${N * ROUNDS} paired checks, load average ${(await import("node:os")).loadavg().map((x) => x.toFixed(1)).join(" ")}`);
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
