// Unit tests of the client against a scripted fetch: wire names, errors,
// retries, timeouts, batching, pagination, revision tracking and the tool
// guard. No server.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ApprovalRequiredError,
  ConflictError,
  ConnectionError,
  EscalationError,
  ForbiddenError,
  Gatehouse,
  GatehouseError,
  guardTool,
  InvalidRequestError,
  NotCaughtUpError,
  NotFoundError,
  PermissionDeniedError,
  ProblemError,
  RequestTimeoutError,
  AbortedError,
  requirePermission,
  UnavailableError,
  collect,
  type FetchLike,
} from "../src/index.js";
import { fromWire, toWire } from "../src/wire.js";
import { parseRetryAfter } from "../src/transport.js";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { requireHttp } from "../src/index.js";

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | Error;

/** A fetch that answers from a script and records what it was sent. */
function scripted(replies: Reply[] | ((s: Seen, n: number) => Reply)): { fetch: FetchLike; seen: Seen[] } {
  const seen: Seen[] = [];
  const fetch: FetchLike = async (url, init) => {
    assert.equal(init.redirect, "manual", "every request forbids redirects");
    const s: Seen = {
      method: String(init.method),
      url,
      headers: { ...(init.headers as Record<string, string>) },
      body: init.body ? JSON.parse(String(init.body)) : undefined,
    };
    seen.push(s);
    const r = typeof replies === "function" ? replies(s, seen.length) : replies[seen.length - 1];
    if (!r) throw new Error("unexpected request " + s.method + " " + url);
    if (r instanceof Error) throw r;
    const text = r.body === undefined ? "" : JSON.stringify(r.body);
    const type = r.status >= 400 ? "application/problem+json" : "application/json";
    return new Response(text, { status: r.status, headers: { "Content-Type": type, ...r.headers } });
  };
  return { fetch, seen };
}

function client(f: FetchLike, extra?: object): Gatehouse {
  const gh = new Gatehouse({ baseUrl: "http://gh.test/", token: "gth_secret", fetch: f, retry: { baseDelayMs: 1, maxDelayMs: 50 }, ...extra });
  gh.t.sleep = async () => {};
  return gh;
}

const problem = (kind: string, status: number, extra?: object) => ({ type: "https://gatehouse.dev/problems/" + kind, title: kind, status, ...extra });

function connRefused(): Error {
  return Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
}
function connReset(): Error {
  return Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }) });
}

describe("wire names", () => {
  it("converts API member names both ways and leaves free-form maps alone", () => {
    const sent = toWire({
      onBehalfOf: "user:carol",
      context: { someKey: 1, snake_key: { innerCamel: true } },
      labels: { teamName: "x" },
      spec: { stepList: ["a"] },
      consistency: { atLeast: 7 },
      skipped: undefined,
    });
    assert.deepEqual(sent, {
      on_behalf_of: "user:carol",
      context: { someKey: 1, snake_key: { innerCamel: true } },
      labels: { teamName: "x" },
      spec: { stepList: ["a"] },
      consistency: { at_least: 7 },
    });
    const got = fromWire({ next_cursor: "c", items: [{ created_at: "t", attributes: { tier_level: 1 }, spec: { a_b: 1 } }] });
    assert.deepEqual(got, { nextCursor: "c", items: [{ createdAt: "t", attributes: { tier_level: 1 }, spec: { a_b: 1 } }] });
  });
});

describe("errors", () => {
  const cases: { name: string; reply: Reply; cls: new (...a: never[]) => Error; kind?: string }[] = [
    { name: "forbidden", reply: { status: 403, body: problem("forbidden", 403, { missing_permission: "bindings:read", scope: "ns/prod" }) }, cls: ForbiddenError, kind: "forbidden" },
    { name: "escalation is a forbidden", reply: { status: 403, body: problem("escalation", 403, { missing_permissions: ["a:b"] }) }, cls: EscalationError, kind: "escalation" },
    { name: "not found", reply: { status: 404, body: problem("not-found", 404) }, cls: NotFoundError, kind: "not-found" },
    { name: "last owner is a conflict", reply: { status: 409, body: problem("last-owner", 409) }, cls: ConflictError, kind: "last-owner" },
    { name: "invalid request", reply: { status: 400, body: problem("invalid-request", 400, { field: "action" }) }, cls: InvalidRequestError, kind: "invalid-request" },
    { name: "a non-problem answer is classified by status", reply: { status: 404, body: "nope" }, cls: NotFoundError, kind: "about:blank" },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { fetch } = scripted([c.reply]);
      const err = await client(fetch).org("demo").get().then(
        () => assert.fail("no error"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof c.cls, `got ${String(err)}`);
      assert.ok(err instanceof ProblemError && err instanceof GatehouseError);
      assert.equal((err as ProblemError).kind, c.kind);
      assert.ok(!String((err as Error).message).includes("gth_secret"), "the token is in the message");
    });
  }
  it("reads the keys a write stopped from its warnings", async () => {
    const cred = { kind: "api_key", id: "k1", principal: "service:ci", minter: "user:adm", scope: "org", reason: "mint a new one" };
    const tok = { kind: "agent_token", id: "t1", principal: "agent:Helper", minter: "user:adm", scope: "org", reason: "r" };
    const { fetch } = scripted([
      { status: 200, body: { revision: 3, item: { id: "b1", principal: "user:adm", role: "viewer" }, warnings: [{ code: "credentials-outrank-minter", message: "m", count: 2, credentials: [cred, tok] }] } },
      { status: 200, body: { revision: 4, warnings: [{ code: "credentials-outrank-minter", message: "m", count: 2 }] } },
    ]);
    const demo = client(fetch).org("demo");
    const w = await demo.setMemberRole("adm", "viewer");
    assert.deepEqual(w.warnings?.map((x) => [x.code, x.count, x.credentials?.map((c) => [c.kind, c.id])]), [
      ["credentials-outrank-minter", 2, [["api_key", "k1"], ["agent_token", "t1"]]],
    ]);
    const r = await demo.removeMember("adm");
    assert.deepEqual(r.warnings?.map((x) => [x.count, x.credentials]), [[2, undefined]]);
  });

  it("carries the problem document in camelCase", async () => {
    const { fetch } = scripted([{ status: 403, body: problem("forbidden", 403, { missing_permission: "bindings:read", request_id: "r1" }) }]);
    const err = (await client(fetch).org("demo").check({ action: "chains:run" }).catch((e: unknown) => e)) as ForbiddenError;
    assert.equal(err.missingPermission, "bindings:read");
    assert.equal(err.requestId, "r1");
    assert.equal(err.problem.status, 403);
    assert.match(err.message, /POST \/v1\/orgs\/demo\/check: 403 forbidden .*missing bindings:read/);
  });
});

describe("retries", () => {
  const unavailable: Reply = { status: 503, body: problem("unavailable", 503) };
  const caughtUp: Reply = { status: 503, body: problem("not-caught-up", 503) };
  const ok: Reply = { status: 200, body: { allowed: true, revision: 3 } };
  const created: Reply = { status: 201, body: { revision: 4, item: { org: "demo", name: "x", created_at: "t" } } };
  const cases: { name: string; replies: Reply[]; call: (gh: Gatehouse) => Promise<unknown>; attempts: number; err?: new (...a: never[]) => Error }[] = [
    { name: "a decision is retried on 503", replies: [unavailable, unavailable, ok], call: (gh) => gh.org("demo").check({ action: "a:b" }), attempts: 3 },
    { name: "a read is retried on a reset connection", replies: [connReset(), ok], call: (gh) => gh.org("demo").get(), attempts: 2 },
    { name: "retries stop at maxAttempts", replies: [unavailable, unavailable, unavailable, unavailable], call: (gh) => gh.org("demo").check({ action: "a:b" }), attempts: 4, err: UnavailableError },
    { name: "a create is not retried on 503 unavailable", replies: [unavailable], call: (gh) => gh.org("demo").createNamespace("x"), attempts: 1, err: UnavailableError },
    { name: "a create is retried on 503 not-caught-up", replies: [caughtUp, created], call: (gh) => gh.org("demo").createNamespace("x"), attempts: 2 },
    { name: "a create is not retried on a reset connection", replies: [connReset()], call: (gh) => gh.org("demo").createNamespace("x"), attempts: 1, err: ConnectionError },
    { name: "a create is retried on a refused connection", replies: [connRefused(), created], call: (gh) => gh.org("demo").createNamespace("x"), attempts: 2 },
    { name: "a 500 is not retried", replies: [{ status: 500, body: problem("internal", 500) }], call: (gh) => gh.org("demo").get(), attempts: 1, err: ProblemError },
    { name: "a Retry-After beyond maxDelay ends the retries", replies: [{ status: 503, body: problem("unavailable", 503), headers: { "Retry-After": "60" } }], call: (gh) => gh.org("demo").get(), attempts: 1, err: UnavailableError },
    { name: "not-caught-up is its own class", replies: [caughtUp, caughtUp, caughtUp, caughtUp], call: (gh) => gh.org("demo").check({ action: "a:b" }), attempts: 4, err: NotCaughtUpError },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { fetch, seen } = scripted(c.replies);
      const p = c.call(client(fetch));
      if (c.err) await assert.rejects(p, c.err);
      else await p;
      assert.equal(seen.length, c.attempts);
    });
  }
  it("parses Retry-After in seconds and as a date", () => {
    assert.equal(parseRetryAfter("2"), 2000);
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(parseRetryAfter("soon"), undefined);
    const ms = parseRetryAfter(new Date(Date.now() + 5000).toUTCString())!;
    assert.ok(ms > 3000 && ms <= 5000, String(ms));
  });
});

describe("timeouts and aborts", () => {
  const hang: FetchLike = (_url, init) =>
    new Promise((_ok, fail) => init.signal!.addEventListener("abort", () => fail(new DOMException("aborted", "AbortError"))));
  it("a call that does not answer in time is a RequestTimeoutError", async () => {
    const gh = new Gatehouse({ baseUrl: "http://gh.test", fetch: hang, timeoutMs: 20 });
    await assert.rejects(gh.org("demo").check({ action: "a:b" }), RequestTimeoutError);
  });
  it("the per-call timeout overrides the client's", async () => {
    const gh = new Gatehouse({ baseUrl: "http://gh.test", fetch: hang, timeoutMs: 60_000 });
    await assert.rejects(gh.org("demo").check({ action: "a:b", timeoutMs: 10 }), RequestTimeoutError);
  });
  it("the caller's signal aborts", async () => {
    const gh = new Gatehouse({ baseUrl: "http://gh.test", fetch: hang });
    const ctl = new AbortController();
    const p = gh.org("demo").get({ signal: ctl.signal });
    ctl.abort();
    await assert.rejects(p, AbortedError);
  });
  it("a timeout that fires while waiting between retries is a RequestTimeoutError", async () => {
    const { fetch } = scripted([{ status: 503, body: problem("unavailable", 503) }, { status: 200, body: { allowed: true, revision: 1 } }]);
    const gh = new Gatehouse({ baseUrl: "http://gh.test", fetch, timeoutMs: 30, retry: { baseDelayMs: 1, maxDelayMs: 10 } });
    // The wait between attempts outlives the deadline (a slow scheduler), so the timer fires during it.
    gh.t.sleep = (_ms, signal) => new Promise((_ok, fail) => signal.addEventListener("abort", () => fail(signal.reason)));
    await assert.rejects(gh.org("demo").check({ action: "a:b" }), RequestTimeoutError);
  });
  it("never follows a redirect (the credential stays with the server)", async () => {
    const { fetch, seen } = scripted([{ status: 307, headers: { Location: "http://elsewhere.test/" } }]);
    await assert.rejects(client(fetch).org("demo").get(), (e: unknown) => e instanceof ProblemError && e.status === 307);
    assert.equal(seen.length, 1);
  });
  it("rejects a base URL that is not http(s)", () => {
    assert.throws(() => new Gatehouse({ baseUrl: "ftp://x" }), GatehouseError);
    assert.throws(() => new Gatehouse({ baseUrl: "nonsense" }), GatehouseError);
  });
});

describe("requests", () => {
  it("sends the token, JSON and snake_case, and records revisions for later decisions", async () => {
    const { fetch, seen } = scripted([
      { status: 201, body: { revision: 41, item: { id: "b1", principal: "user:bob", role: "viewer", scope: {}, org: "demo", created_at: "t" } } },
      { status: 200, body: { allowed: true, revision: 41 } },
      { status: 200, body: { allowed: true, revision: 50 } },
    ]);
    const gh = client(fetch);
    const w = await gh.org("demo").createBinding({ principal: "user:bob", role: "viewer", scope: {} });
    assert.equal(w.item.createdAt, "t");
    assert.equal(gh.revision, 41);
    // A view with another credential shares the watermark.
    await gh.withToken("gth_other").org("demo").check({ principal: "user:bob", action: "chains:read", onBehalfOf: "user:x" });
    await gh.org("demo").check({ action: "chains:read", atLeast: 45 });
    assert.equal(seen[0].headers.Authorization, "Bearer gth_secret");
    assert.equal(seen[0].headers["Content-Type"], "application/json");
    assert.equal(seen[1].headers.Authorization, "Bearer gth_other");
    assert.deepEqual(seen[1].body, { principal: "user:bob", action: "chains:read", on_behalf_of: "user:x", consistency: { at_least: 41 } });
    assert.deepEqual((seen[2].body as { consistency: unknown }).consistency, { at_least: 45 });
    assert.equal(seen[0].url, "http://gh.test/v1/orgs/demo/bindings");
  });
  it("does not send at_least when tracking is off and nothing was asked", async () => {
    const { fetch, seen } = scripted([
      { status: 200, body: { revision: 9 } },
      { status: 200, body: { allowed: false, revision: 9, reason: "no_grant" } },
    ]);
    const gh = client(fetch, { trackRevisions: false });
    await gh.org("demo").deleteBinding("b1");
    const d = await gh.org("demo").check({ action: "chains:read" });
    assert.equal(d.reason, "no_grant");
    assert.equal((seen[1].body as { consistency?: unknown }).consistency, undefined);
  });
  it("escapes path segments", async () => {
    const { fetch, seen } = scripted([{ status: 200, body: { principal: "a", namespace: "n", items: [], revision: 1 } }]);
    await client(fetch).org("de mo").permissions("user:a/b", { namespace: "prod", atLeast: 3 });
    assert.equal(seen[0].url, "http://gh.test/v1/orgs/de%20mo/principals/user%3Aa%2Fb/permissions?namespace=prod&at_least=3");
  });
  it("splits a batch into requests of at most 1,000 checks, keeping the order", async () => {
    const { fetch, seen } = scripted((s) => {
      const checks = (s.body as { checks: { action: string }[] }).checks;
      return { status: 200, body: { revision: checks.length, results: checks.map((c) => ({ allowed: c.action.endsWith("0") })) } };
    });
    const items = Array.from({ length: 2500 }, (_, i) => ({ action: "x:" + i }));
    const out = await client(fetch).org("demo").checkBatch(items);
    assert.deepEqual(seen.map((s) => (s.body as { checks: unknown[] }).checks.length), [1000, 1000, 500]);
    assert.equal(out.results.length, 2500);
    assert.equal(out.revision, 1000);
    assert.deepEqual(out.results.slice(9, 11).map((r) => r.allowed), [false, true]);
  });
  it("iterates every page of a list and of a lookup", async () => {
    const { fetch, seen } = scripted([
      { status: 200, body: { items: [{ org: "demo", name: "a", created_at: "t" }], next_cursor: "c1" } },
      { status: 200, body: { items: [{ org: "demo", name: "b", created_at: "t" }], next_cursor: "" } },
      { status: 200, body: { items: [{ namespace: "p", type: "chains", id: "1" }], next_cursor: "k", revision: 12 } },
      { status: 200, body: { items: [{ namespace: "p", type: "chains", id: "2" }], next_cursor: "", revision: 12 } },
    ]);
    const gh = client(fetch);
    const names = (await collect(gh.org("demo").listNamespaces({ pageSize: 1 }))).map((n) => n.name);
    assert.deepEqual(names, ["a", "b"]);
    assert.equal(seen[1].url, "http://gh.test/v1/orgs/demo/namespaces?page_size=1&cursor=c1");
    const ids = (await collect(gh.org("demo").lookupResources({ action: "chains:run", pageSize: 1 }))).map((r) => r.id);
    assert.deepEqual(ids, ["1", "2"]);
    assert.deepEqual(seen[3].body, { action: "chains:run", page_size: 1, cursor: "k", consistency: { at_least: 12 } });
  });
});

describe("tool guard", () => {
  const allow = { status: 200, body: { allowed: true, revision: 1, obligations: [{ kind: "must", text: "log it" }] } };
  const deny = { status: 200, body: { allowed: false, revision: 1, reason: "no_grant" } };
  const explained = { status: 200, body: { allowed: false, revision: 1, reason: "no_grant", summary: "agent:Triage holds no grant of tools:call", grants: [], near: [] } };
  it("runs the tool after an allow, sending the arguments as context.input", async () => {
    const { fetch, seen } = scripted([allow]);
    const org = client(fetch).org("demo");
    const search = requirePermission(
      { org, resource: "tools/search", principal: "agent:Triage", onBehalfOf: "user:carol", namespace: (a: { q: string; ns: string }) => a.ns },
      async (a: { q: string; ns: string }, extra: string) => `${a.q}:${extra}`,
    );
    assert.equal(await search({ q: "hi", ns: "prod" }, "opt"), "hi:opt");
    assert.deepEqual(seen[0].body, {
      principal: "agent:Triage",
      action: "tools:call",
      resource: "tools/search",
      namespace: "prod",
      on_behalf_of: "user:carol",
      context: { input: { q: "hi", ns: "prod" } },
      arguments: { q: "hi", ns: "prod" },
    });
  });
  it("takes who is asking from the runtime arguments, never from the model's", async () => {
    const { fetch, seen } = scripted([allow]);
    const org = client(fetch).org("demo");
    type Args = { q: string; principal?: string; onBehalfOf?: string };
    type Config = { configurable: { user: string } };
    const tool = requirePermission(
      { org, resource: "tools/search", principal: "agent:Triage", onBehalfOf: (config: Config) => config.configurable.user },
      async (a: Args, _config: Config) => a.q,
    );
    // The model writes a principal into its arguments; it only reaches context.input.
    await tool({ q: "x", principal: "user:alice", onBehalfOf: "user:alice" }, { configurable: { user: "user:carol" } });
    const body = seen[0].body as Record<string, unknown>;
    assert.equal(body.principal, "agent:Triage");
    assert.equal(body.on_behalf_of, "user:carol");
    assert.deepEqual(body.context, { input: { q: "x", principal: "user:alice", onBehalfOf: "user:alice" } });
  });
  it("throws PermissionDeniedError with the explanation and does not run the tool", async () => {
    const { fetch, seen } = scripted([deny, explained]);
    let ran = false;
    const t = requirePermission({ org: client(fetch).org("demo"), resource: "tools/drop" }, async () => {
      ran = true;
    });
    const err = (await t({}).catch((e: unknown) => e)) as PermissionDeniedError;
    assert.ok(err instanceof PermissionDeniedError);
    assert.equal(ran, false);
    assert.equal(err.decision.reason, "no_grant");
    assert.match(err.message, /holds no grant/);
    assert.equal(seen[1].url, "http://gh.test/v1/orgs/demo/explain");
  });
  it("fails closed when the decision cannot be made", async () => {
    const { fetch } = scripted([{ status: 500, body: problem("internal", 500) }]);
    let ran = false;
    const t = requirePermission({ org: client(fetch).org("demo") }, () => {
      ran = true;
    });
    await assert.rejects(t(undefined), ProblemError);
    assert.equal(ran, false);
  });
  it("wraps a Vercel AI SDK tool's execute and a LangChain.js tool's func", async () => {
    const { fetch, seen } = scripted([allow, deny, explained]);
    const org = client(fetch).org("demo");
    const vercel = { description: "weather", parameters: {}, execute: async (a: { city: string }) => "sunny in " + a.city };
    const lc = { name: "calc", description: "adds", func: async (a: { x: number }) => a.x + 1 };
    const gv = guardTool(vercel, { org, resource: "tools/weather" });
    const gl = guardTool(lc, { org });
    assert.equal(await gv.execute({ city: "Oslo" }), "sunny in Oslo");
    await assert.rejects(gl.func({ x: 1 }), PermissionDeniedError);
    assert.equal((seen[1].body as { resource: string }).resource, "tools/calc");
    assert.equal(vercel.execute.name, "execute", "the original tool is left as it was");
    assert.throws(() => guardTool({ name: "x" }, { org }), GatehouseError);
  });
  it("throws ApprovalRequiredError carrying the approval", async () => {
    const needs = { status: 200, body: { allowed: false, revision: 1, result: "approval_required", approval: { id: "ap1", status: "pending", expires_at: "t" } } };
    const { fetch } = scripted([needs]);
    let ran = false;
    const t = requirePermission({ org: client(fetch).org("demo"), resource: "tools/deploy" }, () => {
      ran = true;
    });
    const err = (await t({}).catch((e: unknown) => e)) as ApprovalRequiredError;
    assert.ok(err instanceof ApprovalRequiredError, String(err));
    assert.ok(err instanceof PermissionDeniedError, "an approval is a refusal");
    assert.match(err.message, /tools:call on tools\/deploy needs approval \(approval ap1\)/);
    assert.equal(err.approval.id, "ap1");
    assert.equal(err.approval.expiresAt, "t");
    assert.equal(ran, false);
  });
  it("waits for an approval when asked, then asks again and runs only on an allow", async () => {
    const needs = { status: 200, body: { allowed: false, revision: 1, result: "approval_required", approval: { id: "ap1" } } };
    for (const c of [
      { outcome: "granted", second: allow as Reply, ran: true },
      { outcome: "denied", second: undefined, ran: false },
      { outcome: "granted", second: deny as Reply, ran: false },
    ]) {
      const { fetch, seen } = scripted([needs, ...(c.second ? [c.second, explained] : [])]);
      let ran = false;
      const waited: string[] = [];
      const t = requirePermission(
        {
          org: client(fetch).org("demo"),
          approval: {
            wait: async (a) => {
              waited.push(a.id);
              return { status: c.outcome, presentation: { approvalHint: a.id } };
            },
          },
        },
        () => {
          ran = true;
        },
      );
      await t({}).catch(() => undefined);
      assert.equal(ran, c.ran, JSON.stringify(c));
      assert.deepEqual(waited, ["ap1"]);
      if (c.second) assert.equal((seen[1].body as { approval_hint: string }).approval_hint, "ap1");
    }
  });
});

describe("fail closed on any answer (seeded fuzz of the answer decoder)", () => {
  // A deterministic PRNG, so a failure is reproducible from its seed.
  function rng(seed: number): () => number {
    return () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
  }
  const corpus = [
    "",
    "null",
    "[]",
    '"allowed"',
    "true",
    '{"allowed":"true","revision":1}',
    '{"allowed":1,"revision":1}',
    '{"revision":1}',
    '{"allowed":true',
    '{"allowed":true,"revision":1}',
    '{"allowed":false,"revision":1,"reason":"no_grant"}',
    '{"type":"https://gatehouse.dev/problems/forbidden","status":"403"}',
    '{"type":7,"status":403}',
    "<html>502 Bad Gateway</html>",
    "\u0000\uffff",
  ];
  const statuses = [200, 201, 204, 301, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503];
  it("a check resolves only with a boolean allowed from a 2xx JSON object, and otherwise throws a GatehouseError", async () => {
    const r = rng(17);
    for (let i = 0; i < 600; i++) {
      let body = corpus[Math.floor(r() * corpus.length)];
      if (r() < 0.3) body = body.slice(0, Math.floor(r() * body.length));
      if (r() < 0.2) body += String.fromCharCode(Math.floor(r() * 256));
      const status = statuses[Math.floor(r() * statuses.length)];
      const fetch: FetchLike = async () => new Response(status === 204 ? null : body, { status });
      const gh = new Gatehouse({ baseUrl: "http://gh.test", fetch, retry: { maxAttempts: 1 } });
      const where = `case ${i}: status ${status}, body ${JSON.stringify(body)}`;
      try {
        const d = await gh.org("demo").check({ action: "a:b" });
        assert.ok(status >= 200 && status < 300, where);
        assert.equal(typeof d.allowed, "boolean", where);
        assert.equal(d.allowed, JSON.parse(body).allowed, where);
      } catch (err) {
        assert.ok(err instanceof GatehouseError, `${where}: ${String(err)}`);
        if (status >= 300) assert.ok(err instanceof ProblemError && err.status === status, `${where}: ${String(err)}`);
      }
    }
  });
});

describe("middleware answers without a server", () => {
  it("a token not shaped like a Gatehouse credential is a 401 without asking the server", async () => {
    const { fetch, seen } = scripted([]);
    const guard = requireHttp({ client: client(fetch), org: "demo", action: "chains:run" });
    const server = createServer((req, res) => guard(req, res, () => res.end("ran")));
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    try {
      for (const auth of ["Bearer not-a-token!", "Bearer x", "Bearer a.b", "Token gth_abc", "Bearer " + "gth_" + "a".repeat(9000)]) {
        const r = await globalThis.fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { headers: { Authorization: auth } });
        assert.equal(r.status, 401, auth);
        assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="gatehouse"');
      }
      assert.equal(seen.length, 0);
    } finally {
      await new Promise((ok) => server.close(ok));
    }
  });

  const cases: { name: string; reply: Reply; status: number; kind: string; extra?: Record<string, unknown> }[] = [
    {
      name: "a decision that needs approval is refused with the approval",
      reply: { status: 200, body: { allowed: false, revision: 1, result: "approval_required", approval: { id: "ap9", expires_at: "t" } } },
      status: 403,
      kind: "approval-required",
      extra: { approval: { id: "ap9", expires_at: "t" }, missing_permission: "chains:run" },
    },
    { name: "an allow that is not a boolean is no allow", reply: { status: 200, body: { allowed: "true", revision: 1 } }, status: 503, kind: "unavailable" },
    { name: "a rate-limited guard is a 503", reply: { status: 429, body: problem("rate-limited", 429) }, status: 503, kind: "unavailable" },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { fetch } = scripted([c.reply]);
      let ran = false;
      const guard = requireHttp({ client: client(fetch), org: "demo", action: "chains:run", principal: () => "user:bob" });
      const server = createServer((req, res) =>
        guard(req, res, () => {
          ran = true;
          res.end("ran");
        }),
      );
      await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
      try {
        const r = await globalThis.fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
        const body = (await r.json()) as Record<string, unknown>;
        assert.equal(r.status, c.status);
        assert.equal(body.type, "https://gatehouse.dev/problems/" + c.kind);
        for (const [k, v] of Object.entries(c.extra ?? {})) assert.deepEqual(body[k], v, k);
        assert.equal(ran, false);
      } finally {
        await new Promise((ok) => server.close(ok));
      }
    });
  }
});
