// Agents with owners and lifetimes through the SDK, against a real
// `gatehouse serve --dev` (docs/agents.md): sponsors, status, suspension,
// attestation, the org's lifecycle rules, agent tokens, grants that
// expire, blast radius and decisions at a point in the past. Everything
// happens in an org of its own; carol is not a member of it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  collect,
  ConflictError,
  ForbiddenError,
  Gatehouse,
  InvalidRequestError,
  NotFoundError,
  UnauthenticatedError,
  type OrgClient,
  type PointInTime,
} from "../src/index.js";
import { startServer, type TestServer } from "./harness.js";

const ORG = "tsagents";
const NS = "prod";
const AUDIENCE = "https://gatehouse.example/mcp/tsagents/prod/github";

let srv: TestServer;
let alice: OrgClient;
let bob: OrgClient;
let carol: OrgClient;

before(async () => {
  srv = await startServer();
  const root = new Gatehouse({ baseUrl: srv.baseUrl, token: srv.keys.ALICE_KEY });
  alice = root.org(ORG);
  bob = root.withToken(srv.keys.BOB_KEY).org(ORG);
  carol = root.withToken(srv.keys.CAROL_KEY).org(ORG);
  await root.createOrg({ id: ORG });
  await alice.addMember("bob", "viewer");
  await alice.createNamespace(NS);
  for (const id of ["deploy", "triage"]) await alice.createResource({ namespace: NS, type: "chains", id });
  await alice.createTeam({ slug: "oncall", members: ["user:bob"] });
  await alice.createAgent({ name: "Helper", role: "operator", namespace: NS, sponsors: ["user:bob", "team:oncall"] });
});
after(async () => {
  await srv?.stop();
});

/** Asserts that p rejects with an error of class cls (and, if given, naming field). */
async function rejects(p: Promise<unknown>, cls: new (...a: never[]) => Error, field?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof cls, `want ${cls.name}, got ${String(e)}`);
    if (field !== undefined) assert.equal((e as InvalidRequestError).field, field);
    return true;
  });
}

describe("agents: sponsors, status, suspension and attestation", () => {
  it("shows sponsors and status wherever the agent is", async () => {
    const want = ["team:oncall", "user:bob"];
    const got = await alice.getAgent("Helper");
    assert.deepEqual([[...(got.sponsors ?? [])].sort(), got.status], [want, "active"]);
    const listed = (await collect(alice.listAgents())).find((a) => a.name === "Helper");
    assert.deepEqual([...(listed?.sponsors ?? [])].sort(), want);
    const solo = await alice.createAgent({ name: "Solo", role: "viewer" });
    assert.deepEqual(solo.item.sponsors, ["user:alice"], "the creator sponsors an agent named without sponsors");
  });

  it("suspends by hand, filters by status, and resumes", async () => {
    await alice.createAgent({ name: "Paused", role: "operator", namespace: NS, sponsors: ["user:bob"] });
    const q = { principal: "agent:Paused", action: "chains:run", resource: "chains/deploy", namespace: NS };
    assert.equal(await alice.allowed(q), true);
    const names = async (status: string) => new Set((await collect(alice.listAgents({ status }))).map((a) => a.name));

    const s = await alice.updateAgent("Paused", { suspended: true });
    assert.deepEqual([s.item.suspended, s.item.status], [true, "suspended"]);
    const d = await alice.check(q);
    assert.deepEqual([d.allowed, d.reason], [false, "suspended"]);
    assert.ok((await names("suspended")).has("Paused"));
    assert.ok(!(await names("active")).has("Paused"));

    assert.equal((await alice.updateAgent("Paused", { suspended: false })).item.status, "active");
    assert.equal(await alice.allowed(q), true);
  });

  it("replaces sponsors", async () => {
    await alice.createAgent({ name: "Handover", role: "viewer", sponsors: ["user:bob"] });
    assert.deepEqual((await alice.updateAgent("Handover", { sponsors: ["user:alice"] })).item.sponsors, ["user:alice"]);
  });

  it("lets only a sponsor attest", async () => {
    await rejects(alice.attestAgent("Helper"), ForbiddenError); // the owner, but no sponsor
    const w = await bob.attestAgent("Helper");
    assert.ok(w.revision > 0);
    assert.equal(w.item.name, "Helper");
    assert.ok(w.item.attestedAt);
    await rejects(carol.attestAgent("Helper"), NotFoundError); // another org's user
  });

  it("sets and reads the org's lifecycle rules", async () => {
    const w = await alice.setLifecycle({ inactiveDays: 30, attestationDays: 90 });
    assert.deepEqual(w.item.lifecycle, { inactiveDays: 30, attestationDays: 90 });
    assert.deepEqual(await alice.getLifecycle(), { inactiveDays: 30, attestationDays: 90 });
    assert.equal((await alice.getAgent("Helper")).status, "active");
    const cases: [string, OrgClient, object, new (...a: never[]) => Error, string?][] = [
      ["a viewer lacks org:update", bob, {}, ForbiddenError],
      ["another org's user", carol, {}, NotFoundError],
      ["a negative number of days", alice, { inactiveDays: -1 }, InvalidRequestError, "inactive_days"],
    ];
    for (const [name, c, rules, cls, field] of cases) {
      await rejects(c.setLifecycle(rules), cls, field).catch((e: Error) => assert.fail(`${name}: ${e.message}`));
    }
    await alice.setLifecycle({});
    assert.deepEqual(await alice.getLifecycle(), {});
  });
});

describe("grants that expire", () => {
  it("creates bindings and shares with expires_in and expires_at", async () => {
    const before = Date.now();
    const b = (await alice.createBinding({ principal: "user:bob", role: "operator", scope: { namespace: NS }, expiresIn: "2h" })).item;
    assert.ok(b.expiresAt, "the answer has no expiresAt");
    const left = Date.parse(b.expiresAt) - before;
    assert.ok(left > 119 * 60_000 && left < 125 * 60_000, String(left));
    assert.equal((await alice.getBinding(b.id)).expiresAt, b.expiresAt);
    await alice.deleteBinding(b.id);

    const until = new Date(Math.floor(before / 1000) * 1000 + 86_400_000);
    const s = (await alice.share({ namespace: NS, type: "chains", id: "triage" }, "agent:Helper", ["run"], { expiresAt: until })).item;
    assert.equal(Date.parse(s.expiresAt!), until.getTime());
    const s2 = (await alice.share({ namespace: NS, type: "chains", id: "deploy" }, "user:bob", ["read"], { expiresIn: "30m" })).item;
    assert.ok(s2.expiresAt);

    const cases: [string, object, string][] = [
      ["a past instant", { expiresAt: "2001-01-01T00:00:00Z" }, "expires_at"],
      ["a malformed duration", { expiresIn: "soon" }, "expires_in"],
    ];
    for (const [name, life, field] of cases) {
      await rejects(alice.createBinding({ principal: "user:bob", role: "builder", scope: { namespace: NS }, ...life }), InvalidRequestError, field).catch(
        (e: Error) => assert.fail(`${name}: ${e.message}`),
      );
    }
  });
});

describe("point in time", () => {
  it("answers check, explain and the lookups as they were", async () => {
    // Instants come from the server's clock: the resource's creation is a
    // moment before the share existed.
    const tBefore = (await alice.createResource({ namespace: NS, type: "chains", id: "pit" })).item.createdAt;
    const q = { principal: "user:bob", action: "chains:run", resource: "chains/pit", namespace: NS };
    assert.equal(await alice.allowed(q), false);
    const revBefore = alice.client.revision;
    const shared = await alice.share({ namespace: NS, type: "chains", id: "pit" }, "user:bob", ["run"]);
    assert.equal(await alice.allowed(q), true);
    const tAfter = new Date();

    const then = await alice.check({ ...q, atRevision: revBefore });
    assert.deepEqual([then.allowed, then.revision], [false, revBefore]);
    assert.equal(await alice.allowed({ ...q, atTime: tBefore }), false);
    assert.equal(await alice.allowed({ ...q, atRevision: shared.revision }), true);
    assert.equal(await alice.allowed({ ...q, atTime: tAfter }), true);

    const x = await alice.explain({ ...q, atRevision: revBefore });
    assert.equal(x.allowed, false);
    assert.ok(x.summary.startsWith(`At revision ${revBefore}`), x.summary);

    const subjects = async (p: PointInTime) =>
      new Set((await alice.lookupSubjects({ action: "chains:run", resource: "chains/pit", namespace: NS, ...p })).items!.map((s) => s.principal));
    assert.ok((await subjects({})).has("user:bob"));
    assert.ok(!(await subjects({ atRevision: revBefore })).has("user:bob"));
    assert.ok(!(await subjects({ atTime: tBefore })).has("user:bob"));

    const ids = async (p: PointInTime) =>
      new Set((await collect(alice.lookupResources({ principal: "user:bob", action: "chains:run", namespace: NS, pageSize: 1, ...p }))).map((r) => r.id));
    assert.ok((await ids({})).has("pit"));
    assert.ok(!(await ids({ atRevision: revBefore })).has("pit"));
    assert.equal((await alice.lookupResourcesPage({ principal: "user:bob", action: "chains:run", atRevision: revBefore })).revision, revBefore);
    // A namespace the org does not have: no items, and the reason a check of the same question gives.
    const unknown = await alice.lookupResourcesPage({ principal: "user:bob", action: "chains:run", namespace: "no-such-namespace" });
    assert.deepEqual([unknown.items ?? [], unknown.reason], [[], "unknown_namespace"]);
    // The other lookups say the same (row 92), and nothing where it exists.
    const subs = await alice.lookupSubjects({ action: "chains:run", resource: "chains/pit", namespace: "no-such-namespace" });
    assert.deepEqual([subs.items ?? [], subs.reason], [[], "unknown_namespace"]);
    assert.equal((await alice.lookupSubjects({ action: "chains:run", resource: "chains/pit", namespace: NS })).reason, undefined);
    const perms = await alice.permissions("user:bob", { namespace: "no-such-namespace" });
    assert.deepEqual([perms.items ?? [], perms.reason], [[], "unknown_namespace"]);
    assert.equal((await alice.permissions("user:bob", { namespace: NS })).reason, undefined);
  });

  it("refuses a point it cannot answer with InvalidRequestError naming the field", async () => {
    const future = new Date(Date.now() + 86_400_000);
    const cases: [string, PointInTime, string][] = [
      ["before the org existed (outside what the changelog holds)", { atTime: "2001-01-01T00:00:00Z" }, "at_time"],
      ["in the future", { atTime: future }, "at_time"],
      ["a revision not yet written", { atRevision: 2 ** 40 }, "at_revision"],
      ["both", { atTime: "2001-01-01T00:00:00Z", atRevision: 1 }, "at_revision"],
    ];
    const calls: [string, (p: PointInTime) => Promise<unknown>][] = [
      ["check", (p) => alice.check({ action: "chains:run", resource: "chains/deploy", namespace: NS, ...p })],
      ["explain", (p) => alice.explain({ action: "chains:run", resource: "chains/deploy", namespace: NS, ...p })],
      ["lookupResourcesPage", (p) => alice.lookupResourcesPage({ action: "chains:run", ...p })],
      ["lookupSubjects", (p) => alice.lookupSubjects({ action: "chains:run", resource: "chains/deploy", namespace: NS, ...p })],
    ];
    for (const [cname, call] of calls) {
      for (const [name, p, field] of cases) {
        await rejects(call(p), InvalidRequestError, field).catch((e: Error) => assert.fail(`${cname}, ${name}: ${e.message}`));
      }
    }
  });
});

describe("blast radius", () => {
  it("answers reach as a typed result, to whom it may", async () => {
    const r = await alice.reach("agent:Helper");
    assert.deepEqual([r.principal, r.status], ["agent:Helper", "active"]);
    assert.ok(r.summary);
    const entries = r.namespaces.flatMap((n) => n.entries.map((e) => ({ ns: n.namespace, ...e })));
    assert.ok(entries.some((e) => e.ns === NS && e.permission === "chains:run"), JSON.stringify(entries));
    for (const e of entries) assert.ok(["all", "destructive", "change", "read"].includes(e.severity), e.severity);

    assert.equal((await bob.reach("user:bob")).principal, "user:bob"); // yourself
    await rejects(bob.reach("agent:Helper"), ForbiddenError); // no bindings:read
    await rejects(carol.reach("agent:Helper"), NotFoundError); // another org's user

    await alice.createAgent({ name: "Gone", role: "operator", namespace: NS, sponsors: ["user:bob"] });
    await alice.updateAgent("Gone", { suspended: true });
    const g = await alice.reach("agent:Gone");
    assert.equal(g.status, "suspended");
    assert.deepEqual(g.namespaces.flatMap((n) => n.entries), []);
  });
});

describe("agent tokens", () => {
  it("mints one for its audience only, and refuses who may not", async () => {
    const t = await alice.mintAgentToken("Helper", { audience: AUDIENCE, onBehalfOf: "user:alice", ttl: "10m" });
    assert.ok(t.token.startsWith("gha_"));
    assert.deepEqual([t.agent, t.onBehalfOf, t.audience, t.tokenType], ["agent:Helper", "user:alice", AUDIENCE, "Bearer"]);
    await rejects(new Gatehouse({ baseUrl: srv.baseUrl, token: t.token }).me(), UnauthenticatedError); // every API route refuses it

    await alice.createAgent({ name: "Stopped", role: "viewer", sponsors: ["user:alice"] });
    await alice.updateAgent("Stopped", { suspended: true });
    const cases: [string, OrgClient, string, object, new (...a: never[]) => Error][] = [
      ["a viewer lacks apikeys:create", bob, "Helper", {}, ForbiddenError],
      ["another org's user", carol, "Helper", {}, NotFoundError],
      ["a user acting for another", alice, "Helper", { onBehalfOf: "user:bob" }, ForbiddenError],
      ["a suspended agent", alice, "Stopped", {}, ConflictError],
      ["no audience", alice, "Helper", { audience: "" }, InvalidRequestError],
    ];
    for (const [name, c, agent, req, cls] of cases) {
      await rejects(c.mintAgentToken(agent, { audience: AUDIENCE, ...req }), cls).catch((e: Error) => assert.fail(`${name}: ${e.message}`));
    }
  });

  it("lists them newest first, never the token, and revokes one by its id", async () => {
    const first = await alice.mintAgentToken("Helper", { audience: AUDIENCE, onBehalfOf: "user:alice" });
    const second = await alice.mintAgentToken("Helper", { audience: AUDIENCE });
    const page = await alice.listAgentTokens("Helper").page();
    const ids = page.items.map((t) => t.id);
    assert.ok(ids.indexOf(second.tokenId) < ids.indexOf(first.tokenId) && ids.includes(first.tokenId), "newest first");
    const listed = page.items.find((t) => t.id === first.tokenId)!;
    assert.deepEqual([listed.agent, listed.onBehalfOf, listed.audience, listed.createdBy, listed.revokedAt],
      ["agent:Helper", "user:alice", AUDIENCE, "user:alice", undefined]);
    assert.ok(!JSON.stringify(page).includes(first.token), "the list shows a token");
    assert.ok((await alice.listAgentTokens("").page()).items.some((t) => t.id === first.tokenId));
    await rejects(bob.listAgentTokens("Helper").page(), ForbiddenError);
    await rejects(bob.revokeAgentToken("Helper", first.tokenId), ForbiddenError);
    await rejects(alice.revokeAgentToken("Helper", "0".repeat(32)), NotFoundError);
    assert.ok((await alice.revokeAgentToken("Helper", first.tokenId)).revision > 0);
    await rejects(alice.revokeAgentToken("Helper", first.tokenId), ConflictError);
    const after = (await alice.listAgentTokens("Helper").page()).items.find((t) => t.id === first.tokenId)!;
    assert.ok(after.revokedAt);
    assert.equal(after.revokedBy, "user:alice");
  });
});
