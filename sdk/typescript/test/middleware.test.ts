// The HTTP middleware in front of a Node http server, deciding with a real
// `gatehouse serve --dev`: who gets through, and what everyone else is
// answered (401/403 problem+json, 503 when no decision can be made).
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { decisionOf, Gatehouse, requireHttp, type MiddlewareOptions } from "../src/index.js";
import { startServer, type TestServer } from "./harness.js";

let srv: TestServer;

before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv?.stop();
});

/** Serves POST /chains/{ns}/{id}/run behind the middleware; the handler answers the decision it saw. */
async function app(opts: Partial<MiddlewareOptions>): Promise<{ url: string; close: () => Promise<void> }> {
  const guard = requireHttp({
    client: new Gatehouse({ baseUrl: srv.baseUrl, token: srv.keys.ALICE_KEY }),
    org: "demo",
    action: "chains:run",
    resource: (req: IncomingMessage) => {
      const [, , ns, id] = (req.url ?? "").split("/");
      return { namespace: ns, resource: "chains/" + id };
    },
    ...opts,
  });
  const server: Server = createServer((req, res) =>
    guard(req, res, () => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ ran: true, allowed: decisionOf(req)?.allowed }));
    }),
  );
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((ok) => server.close(() => ok())) };
}

interface Want {
  status: number;
  kind?: string;
  ran?: boolean;
}

async function call(url: string, path: string, headers: Record<string, string>): Promise<{ status: number; type: string; body: Record<string, unknown>; www: string | null }> {
  const r = await fetch(url + path, { method: "POST", headers });
  return { status: r.status, type: r.headers.get("content-type") ?? "", body: (await r.json()) as Record<string, unknown>, www: r.headers.get("www-authenticate") };
}

function expectAnswer(name: string, got: Awaited<ReturnType<typeof call>>, want: Want): void {
  assert.equal(got.status, want.status, `${name}: ${JSON.stringify(got.body)}`);
  if (want.ran) {
    assert.deepEqual(got.body, { ran: true, allowed: true }, name);
    return;
  }
  assert.equal(got.type, "application/problem+json", name);
  assert.equal(got.body.type, "https://gatehouse.dev/problems/" + want.kind, name);
  assert.equal(got.body.status, want.status, name);
  assert.equal(got.body.ran, undefined, name);
  if (want.status === 401) assert.equal(got.www, 'Bearer realm="gatehouse"', name);
}

describe("middleware, token mode (the caller's own Gatehouse key)", () => {
  const cases: { name: string; path: string; token?: string; header?: string; opts?: Partial<MiddlewareOptions>; want: Want }[] = [
    { name: "bob, operator in prod, runs", path: "/chains/prod/database-migration/run", token: "BOB_KEY", want: { status: 200, ran: true } },
    { name: "carol runs the chain shared with her team", path: "/chains/prod/escalation-triage/run", token: "CAROL_KEY", want: { status: 200, ran: true } },
    { name: "carol is denied another chain", path: "/chains/prod/database-migration/run", token: "CAROL_KEY", want: { status: 403, kind: "forbidden" } },
    { name: "the denied status is configurable (seed 000 uses 401)", path: "/chains/prod/database-migration/run", token: "CAROL_KEY", opts: { deniedStatus: 401 }, want: { status: 401, kind: "unauthenticated" } },
    { name: "no credential is a 401", path: "/chains/prod/database-migration/run", want: { status: 401, kind: "unauthenticated" } },
    { name: "a bad key is a 401", path: "/chains/prod/database-migration/run", header: "Bearer gth_0000000000000000_invalidinvalidinvalidinvalidinvalidinvalidinvalid0", want: { status: 401, kind: "unauthenticated" } },
    { name: "a non-bearer Authorization is a 401", path: "/chains/prod/database-migration/run", header: "Basic Ym9iOnB3", want: { status: 401, kind: "unauthenticated" } },
    { name: "an org the caller is not in is a deny, not a pass", path: "/chains/prod/database-migration/run", token: "BOB_KEY", opts: { org: "no-such-org" }, want: { status: 403, kind: "forbidden" } },
    { name: "a malformed resource is a deny", path: "/chains/prod/database-migration/run", token: "BOB_KEY", opts: { resource: { namespace: "prod", resource: "not a resource" } }, want: { status: 403, kind: "forbidden" } },
    { name: "an unreachable Gatehouse is a 503, never a pass", path: "/chains/prod/database-migration/run", token: "BOB_KEY", opts: { client: new Gatehouse({ baseUrl: "http://127.0.0.1:9", retry: { maxAttempts: 1 } }) }, want: { status: 503, kind: "unavailable" } },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const a = await app(c.opts ?? {});
      try {
        const headers: Record<string, string> = {};
        if (c.token) headers.Authorization = "Bearer " + srv.keys[c.token];
        if (c.header) headers.Authorization = c.header;
        expectAnswer(c.name, await call(a.url, c.path, headers), c.want);
      } finally {
        await a.close();
      }
    });
  }
});

describe("middleware, principal mode (the host authenticates)", () => {
  const byHeader = { principal: (req: IncomingMessage) => req.headers["x-user"] as string | undefined };
  const cases: { name: string; user?: string; opts?: Partial<MiddlewareOptions>; want: Want }[] = [
    { name: "bob runs", user: "user:bob", want: { status: 200, ran: true } },
    { name: "carol is denied", user: "user:carol", want: { status: 403, kind: "forbidden" } },
    { name: "no principal is a 401", want: { status: 401, kind: "unauthenticated" } },
    { name: "a guard credential that may not ask about others is a 503", user: "user:bob", opts: { client: new Gatehouse({ baseUrl: "http://x" }) }, want: { status: 503, kind: "unavailable" } },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const opts = { ...byHeader, ...c.opts };
      if (c.opts?.client) opts.client = new Gatehouse({ baseUrl: srv.baseUrl, token: srv.keys.CAROL_KEY });
      const a = await app(opts);
      try {
        expectAnswer(c.name, await call(a.url, "/chains/prod/database-migration/run", c.user ? { "X-User": c.user } : {}), c.want);
      } finally {
        await a.close();
      }
    });
  }
});

describe("middleware, token mode with a session", () => {
  it("a session token passes the shape check and is decided like a key", async () => {
    const session = await new Gatehouse({ baseUrl: srv.baseUrl, token: srv.keys.BOB_KEY }).createSession();
    const a = await app({});
    try {
      expectAnswer("bob's session", await call(a.url, "/chains/prod/database-migration/run", { Authorization: "Bearer " + session.token }), { status: 200, ran: true });
    } finally {
      await a.close();
    }
  });
});
