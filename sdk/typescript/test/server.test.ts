// The SDK against a real `gatehouse serve --dev`: decisions, what a
// platform automates, runs, typed errors and read-your-writes.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  collect,
  ConflictError,
  ForbiddenError,
  Gatehouse,
  InvalidPolicyError,
  InvalidRequestError,
  NotFoundError,
  PermissionDeniedError,
  requirePermission,
  UnauthenticatedError,
} from "../src/index.js";
import { startServer, type TestServer } from "./harness.js";

let srv: TestServer;
let alice: Gatehouse;
let bob: Gatehouse;
let carol: Gatehouse;

before(async () => {
  srv = await startServer();
  alice = new Gatehouse({ baseUrl: srv.baseUrl, token: srv.keys.ALICE_KEY });
  bob = alice.withToken(srv.keys.BOB_KEY);
  carol = alice.withToken(srv.keys.CAROL_KEY);
});
after(async () => {
  await srv?.stop();
});

describe("decisions", () => {
  it("checks, explains and batches", async () => {
    const demo = alice.org("demo");
    assert.equal(await demo.allowed({ principal: "user:bob", action: "chains:run", resource: "chains/database-migration", namespace: "prod" }), true);
    const d = await carol.org("demo").check({ action: "chains:run", resource: "chains/database-migration", namespace: "prod" });
    assert.deepEqual([d.allowed, d.reason], [false, "no_grant"]);
    // A misspelt action is still a deny; a policy reader is told why.
    const typo = await alice.org("demo").check({ principal: "user:bob", action: "chains:rnu", resource: "chains/database-migration", namespace: "prod" });
    assert.equal(typo.allowed, false);
    assert.deepEqual(typo.warnings?.map((w) => w.code), ["unknown_action"], JSON.stringify(typo));
    const x = await demo.explain({ principal: "user:carol", action: "chains:run", resource: "chains/escalation-triage", namespace: "prod" });
    assert.equal(x.allowed, true);
    assert.ok(x.grants!.some((g) => g.via === "team:support"), JSON.stringify(x.grants));
    const b = await demo.checkBatch([
      { principal: "user:bob", action: "chains:run", resource: "chains/eval-harness", namespace: "dev" },
      { principal: "user:carol", action: "chains:delete", resource: "chains/eval-harness", namespace: "dev" },
      { principal: "bob", action: "chains:run" },
    ]);
    assert.deepEqual(b.results.map((r) => r.allowed), [true, false, false]);
    assert.equal(b.results[2].error?.field, "checks[2].principal");
  });

  it("iterates a lookup page by page, and lists who may", async () => {
    const demo = alice.org("demo");
    const all = await collect(demo.lookupResources({ principal: "user:bob", action: "chains:run", pageSize: 2 }));
    assert.deepEqual(
      all.map((r) => `${r.namespace}/${r.id}`),
      ["dev/eval-harness", "dev/prompt-playground", "prod/database-migration", "prod/escalation-triage", "prod/ticket-summarizer"],
    );
    const who = await demo.lookupSubjects({ action: "chains:run", resource: "chains/escalation-triage", namespace: "prod" });
    assert.ok(who.items!.some((s) => s.principal === "user:carol" && s.via?.includes("team:support")), JSON.stringify(who.items));
    const perms = await demo.permissions("user:bob", { namespace: "prod" });
    assert.ok(perms.items!.some((g) => g.permission.startsWith("chains:")), JSON.stringify(perms.items));
    const me = await bob.me({ namespace: "dev" });
    assert.equal(me.principal, "user:bob");
    assert.equal(me.orgs![0].namespace, "dev");
  });

  it("answers typed errors carrying the problem document", async () => {
    const e1 = await carol.org("demo").check({ principal: "user:bob", action: "chains:run", namespace: "prod" }).catch((e: unknown) => e);
    assert.ok(e1 instanceof ForbiddenError, String(e1));
    assert.equal(e1.missingPermission, "bindings:read");
    const e2 = await alice.org("demo").check({ action: "nonsense" }).catch((e: unknown) => e);
    assert.ok(e2 instanceof InvalidRequestError, String(e2));
    assert.equal(e2.field, "action");
    await assert.rejects(carol.org("no-such-org").get(), NotFoundError);
    await assert.rejects(alice.withToken(undefined).me(), UnauthenticatedError);
    const e3 = await alice.org("demo").putPolicy("role {").catch((e: unknown) => e);
    assert.ok(e3 instanceof InvalidPolicyError, String(e3));
    assert.ok((e3.problem.errors ?? []).length > 0);
  });
});

describe("what a platform automates", () => {
  it("creates an org from a template and sets it up; a decision sees each write at once", async () => {
    // A fresh client per step would not share the watermark; this one does.
    const gh = new Gatehouse({ baseUrl: srv.baseUrl, token: srv.keys.ALICE_KEY });
    const org = (await gh.createOrg({ id: "acme", name: "Acme", template: "agent-platform" })).item;
    assert.equal(org.template, "agent-platform");
    const acme = gh.org("acme");
    await acme.createNamespace("prod");
    assert.deepEqual((await collect(acme.listNamespaces())).map((n) => n.name).sort(), ["default", "prod"]);
    const inv = await acme.invite({ email: "dora@example.com", role: "viewer" });
    assert.match(inv.token, /.+/);
    assert.equal(inv.item.email, "dora@example.com");
    await acme.addMember("bob", "viewer");
    assert.equal(await acme.allowed({ principal: "user:bob", action: "chains:read", namespace: "prod" }), true);
    assert.equal(await acme.allowed({ principal: "user:bob", action: "chains:run", namespace: "prod" }), false);
    const team = (await acme.createTeam({ slug: "ops", name: "Operations", members: ["user:bob"] })).item;
    assert.equal(team.slug, "ops");
    const bind = (await acme.createBinding({ principal: "team:ops", role: "operator", scope: { namespace: "prod" } })).item;
    assert.equal(await acme.allowed({ principal: "user:bob", action: "chains:run", namespace: "prod" }), true);
    await acme.deleteBinding(bind.id);
    assert.equal(await acme.allowed({ principal: "user:bob", action: "chains:run", namespace: "prod" }), false);

    const ref = { namespace: "prod", type: "chains", id: "triage" };
    const res = await acme.createResource({ ...ref, labels: { tier_name: "gold" }, attributes: { ownerTeam: "ops" }, spec: { step_list: ["a", "b"] } });
    assert.equal(res.item.version, 1);
    const got = await acme.getResource(ref);
    assert.deepEqual([got.labels, got.attributes, got.spec], [{ tier_name: "gold" }, { ownerTeam: "ops" }, { step_list: ["a", "b"] }]);
    const upd = await acme.updateResource(ref, { spec: { step_list: ["c"] }, ifVersion: 1 });
    assert.equal(upd.item.version, 2);
    await assert.rejects(acme.updateResource(ref, { spec: {}, ifVersion: 1 }), ConflictError);
    assert.deepEqual((await collect(acme.listResourceVersions(ref))).map((v) => v.version).sort(), [1, 2]);

    await acme.share(ref, "user:bob", ["run"]);
    assert.equal(await acme.allowed({ principal: "user:bob", action: "chains:run", resource: "chains/triage", namespace: "prod" }), true);

    const agent = (await acme.createAgent({ name: "Helper", role: "operator", namespace: "prod", sponsor: "alice" })).item;
    assert.equal(agent.sponsor, "alice");
    assert.equal(await acme.allowed({ principal: "agent:Helper", action: "chains:run", resource: "chains/triage", namespace: "prod", onBehalfOf: "user:bob" }), true);
    assert.equal(await acme.allowed({ principal: "agent:Helper", action: "chains:run", resource: "chains/triage", namespace: "prod", onBehalfOf: "user:carol" }), false);

    const pol = await acme.getPolicy();
    const v = await acme.validatePolicy(pol.text);
    assert.equal(v.valid, true);
    await acme.putPolicy(pol.text);
    assert.ok((await acme.getPolicy()).version >= pol.version);
    assert.ok(gh.revision > 0);
  });

  it("issues a run token whose exchange releases the spec's secrets once, to the runtime", async () => {
    const demo = alice.org("demo");
    await demo.createSecret("prod", { name: "API_TOKEN", value: "s3cret" });
    await demo.createService({ name: "runner", role: "operator", namespace: "prod" });
    const key = await demo.createKey({ principal: "service:runner", name: "runner" });
    const ref = { namespace: "prod", type: "chains", id: "with-secret" };
    await demo.createResource({ ...ref, spec: { secrets: ["API_TOKEN"] } });
    const grant = await demo.createRunToken(ref, { runtime: "service:runner", ttlSeconds: 60 });
    assert.equal(grant.secretCount, 1);
    const runner = alice.withToken(key.token).org("demo");
    const rel = await runner.exchangeRunToken(grant.token);
    assert.deepEqual(rel.secrets, [{ name: "API_TOKEN", version: 1, value: "s3cret" }]);
    await assert.rejects(runner.exchangeRunToken(grant.token), ForbiddenError);
  });

  it("keeps a service under sponsors: attest by a sponsor only, sponsor_gone when the last one leaves", async () => {
    const demo = alice.org("demo");
    await assert.rejects(demo.createService({ name: "lonely", lifecycle: true }), InvalidRequestError);
    const svc = (await demo.createService({ name: "nightly", role: "viewer", sponsors: ["user:carol"], lifecycle: true })).item;
    assert.deepEqual([svc.sponsors, svc.lifecycle, svc.status], [["user:carol"], true, "active"]);
    await assert.rejects(demo.attestService("nightly"), ForbiddenError); // alice is no sponsor
    const att = (await carol.org("demo").attestService("nightly")).item;
    assert.ok(att.attestedAt);
    const moved = (await demo.updateService("nightly", { sponsors: ["team:nobody-here"] }).catch((e: unknown) => e)) as Error;
    assert.ok(moved instanceof InvalidRequestError, String(moved));
    assert.deepEqual((await collect(demo.listServices({ status: "sponsor_gone" }))).map((s) => s.name), []);
    const out = (await demo.updateService("nightly", { sponsors: [], lifecycle: false })).item;
    assert.deepEqual([out.sponsors, out.lifecycle, out.status], [undefined, undefined, "active"]);
  });

  it("guards a tool with a real decision, explaining a deny", async () => {
    const demo = alice.org("demo");
    const run = requirePermission(
      { org: demo, action: "chains:run", principal: "user:carol", resource: (a: { chain: string }) => "chains/" + a.chain, namespace: "prod" },
      async (a: { chain: string }) => "ran " + a.chain,
    );
    assert.equal(await run({ chain: "escalation-triage" }), "ran escalation-triage");
    const err = await run({ chain: "database-migration" }).catch((e: unknown) => e);
    assert.ok(err instanceof PermissionDeniedError, String(err));
    assert.equal(err.decision.reason, "no_grant");
    assert.ok(err.explanation && err.explanation.summary.length > 0);
  });
});

describe("write warnings", () => {
  // minted is a new org where bob, a builder, minted an API key of service
  // ci (role svcrole: level 10, chains:read), which bob outranks.
  async function minted(): Promise<{ org: string; keyId: string }> {
    const org = "warn-" + Math.random().toString(36).slice(2, 10);
    await alice.createOrg({ id: org });
    const o = alice.org(org);
    await o.addMember("bob", "builder");
    await o.createRole({ name: "svcrole", level: 10, permissions: ["chains:read"] });
    await o.createService({ name: "ci", role: "svcrole" });
    const key = await bob.org(org).createKey({ principal: "service:ci" });
    return { org, keyId: key.item.id };
  }
  const stopped = (ws: { code: string; count: number; credentials?: { id: string }[] }[] | undefined) =>
    (ws ?? []).map((w) => [w.code, w.count, (w.credentials ?? []).map((c) => c.id)]);

  it("a revision-only write answers the keys it stopped", async () => {
    const { org, keyId } = await minted();
    const rev = await alice.org(org).removeMember("bob");
    assert.equal(rev.revision, alice.revision);
    assert.deepEqual(stopped(rev.warnings), [["credentials-outrank-minter", 1, [keyId]]]);
  });

  it("names bob's agent token beside his API key, each with its kind", async () => {
    const { org, keyId } = await minted();
    await alice.org(org).createAgent({ name: "helper", role: "svcrole" });
    const tok = await bob.org(org).mintAgentToken("helper", { audience: `https://gw.example/mcp/${org}/default/x`, ttl: "10m" });
    const rev = await alice.org(org).removeMember("bob");
    const got = (rev.warnings ?? []).map((w) => [w.code, w.count, (w.credentials ?? []).map((c) => [c.kind, c.id, c.principal, c.minter]).sort()]);
    assert.deepEqual(got, [
      ["credentials-outrank-minter", 2, [["agent_token", tok.tokenId, "agent:helper", "user:bob"], ["api_key", keyId, "service:ci", "user:bob"]]],
    ]);
  });

  it("a policy write answers the keys it stopped in writeWarnings", async () => {
    const { org, keyId } = await minted();
    const o = alice.org(org);
    const text = (await o.getPolicy()).text;
    const raised = text.replace("role svcrole level 10", "role svcrole level 60");
    assert.notEqual(raised, text);
    const applied = await o.putPolicy(raised);
    assert.equal(applied.revision, alice.revision);
    assert.deepEqual(stopped(applied.writeWarnings), [["credentials-outrank-minter", 1, [keyId]]]);
    assert.equal(applied.warnings, undefined); // no member-aware policy diagnostics here
  });
});
