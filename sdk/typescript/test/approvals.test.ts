// Approvals and runs against a real `gatehouse serve --dev`: a check
// answered approval_required, another user approves, the requester's check
// presenting the approval is allowed once; the guard's default wait; a run
// started and finished.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ApprovalRequiredError, collect, Gatehouse, requirePermission } from "../src/index.js";
import { startServer, type TestServer } from "./harness.js";

let srv: TestServer;
let alice: Gatehouse;
let bob: Gatehouse;

before(async () => {
  srv = await startServer();
  alice = new Gatehouse({ baseUrl: srv.baseUrl, token: srv.keys.ALICE_KEY });
  bob = alice.withToken(srv.keys.BOB_KEY);
  // bob is operator in prod: each run of a chain there needs a person's approval.
  const demo = alice.org("demo");
  const p = await demo.getPolicy();
  const m = /role operator\b[^{\n]*\{/.exec(p.text);
  assert.ok(m, "the demo policy has no role operator:\n" + p.text);
  const at = m.index + m[0].length;
  const text = `condition ts_in_prod = "resource.namespace == 'prod'"\n\n` + p.text.slice(0, at) + "\n    ask before run chains when ts_in_prod\n" + p.text.slice(at);
  await demo.putPolicy(text);
});
after(async () => {
  await srv?.stop();
});

const q = { action: "chains:run", resource: "chains/database-migration", namespace: "prod" };

describe("approvals", () => {
  it("approval_required, approved by another user, allowed once", async () => {
    const args = { version: "v2", opts: { dry_run: false, keepCase: 1 } };
    const d = await bob.org("demo").check({ ...q, arguments: args });
    assert.equal(d.allowed, false);
    assert.equal(d.result, "approval_required");
    const a = d.approval!;
    assert.equal(a.status, "pending");
    assert.equal(a.principal, "user:bob");
    assert.equal(a.action, "chains:run");
    assert.match(a.argumentsSha256, /^[0-9a-f]{64}$/);
    // The same question again: the same approval.
    assert.equal((await bob.org("demo").check({ ...q, arguments: args })).approval?.id, a.id);

    const pending = await collect(alice.org("demo").listApprovals({ status: "pending" }));
    assert.ok(pending.some((x) => x.id === a.id), JSON.stringify(pending));
    const read = await alice.org("demo").getApproval(a.id);
    assert.ok(read.approvers?.includes("user:alice"), JSON.stringify(read));

    // Not granted yet: presenting it does not allow.
    const early = await bob.org("demo").check({ ...q, arguments: args, approvalId: a.id });
    assert.deepEqual([early.allowed, early.result], [false, "approval_required"]);

    const waiting = bob.org("demo").waitForApproval(a.id, { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 200));
    const granted = await alice.org("demo").approve(a.id, { comment: "ship it" });
    assert.equal(granted.status, "granted");
    assert.equal(granted.votes?.[0].comment, "ship it");
    const w = await waiting;
    assert.equal(w.status, "granted");

    // Other arguments are another question.
    const other = await bob.org("demo").check({ ...q, arguments: { ...args, version: "v3" }, approvalId: a.id });
    assert.equal(other.allowed, false);

    const ok = await bob.org("demo").check({ ...q, arguments: args, approvalId: a.id });
    assert.equal(ok.allowed, true, JSON.stringify(ok));
    const again = await bob.org("demo").check({ ...q, arguments: args, approvalId: a.id });
    assert.equal(again.allowed, false, JSON.stringify(again));
    assert.equal((await bob.org("demo").getApproval(a.id)).status, "consumed");
  });

  it("a deny ends it; waitForApproval answers it", async () => {
    const d = await bob.org("demo").check({ ...q, arguments: { deny: true } });
    const id = d.approval!.id;
    const waiting = bob.org("demo").waitForApproval(id);
    await new Promise((r) => setTimeout(r, 200));
    await alice.org("demo").deny(id, { comment: "no" });
    assert.equal((await waiting).status, "denied");
    // A pending wait gives up after timeoutMs with the last state read.
    const d2 = await bob.org("demo").check({ ...q, arguments: { timeout: true } });
    const t0 = Date.now();
    const last = await bob.org("demo").waitForApproval(d2.approval!.id, { timeoutMs: 1500 });
    assert.equal(last.status, "pending");
    assert.ok(Date.now() - t0 < 5000);
  });

  it("the guard's opt-in wait long-polls the server and runs the tool once granted", async () => {
    let ran = 0;
    const tool = requirePermission({ org: bob.org("demo"), action: "chains:run", resource: "chains/database-migration", namespace: "prod", approval: { timeoutMs: 20_000 } }, async (x: { n: number }) => {
      ran++;
      return x.n * 2;
    });
    // The guard binds the approval to the call's arguments: sha256 of the
    // canonical JSON {"n":21}.
    const call = tool({ n: 21 });
    let id = "";
    for (let i = 0; i < 100 && !id; i++) {
      const pending = await collect(alice.org("demo").listApprovals({ status: "pending" }));
      id = pending.find((x) => x.action === "chains:run" && x.principal === "user:bob" && x.argumentsSha256 === "21425da57c66c7f34b8ad6251726f1725e5aa441198c82d59a3818ea16f297d4")?.id ?? "";
      if (!id) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(id, "no pending approval");
    await alice.org("demo").approve(id);
    assert.equal(await call, 42);
    assert.equal(ran, 1);
    // Without the wait, the guard refuses with the approval.
    const strict = requirePermission({ org: bob.org("demo"), action: "chains:run", resource: "chains/database-migration", namespace: "prod" }, async () => 1);
    const e = await strict({}).catch((x: unknown) => x);
    assert.ok(e instanceof ApprovalRequiredError, String(e));
    assert.equal(e.approval.status, "pending");
  });
});

describe("runs", () => {
  it("starts, finishes, reads and lists a run", async () => {
    const demo = bob.org("demo");
    const input = { query: "hi", snake_key: { innerCamel: true } };
    const s = await demo.startRun({ resource: "chains/eval-harness", namespace: "dev", input });
    assert.equal(s.result, "started", JSON.stringify(s));
    const run = s.run!;
    assert.equal(run.status, "running");
    assert.equal(run.principal, "user:bob");
    assert.equal(run.inputSize, JSON.stringify(input).length);
    assert.ok(run.inputSummary?.includes("innerCamel") && run.inputSummary.includes("snake_key"), run.inputSummary);
    const fin = await demo.finishRun(run.id, { status: "succeeded", output: "done" });
    assert.equal(fin.status, "succeeded");
    assert.equal(fin.outputSummary, "done");
    assert.ok(fin.finishedAt);
    await assert.rejects(demo.finishRun(run.id, { status: "failed" }));
    assert.equal((await demo.getRun(run.id)).status, "succeeded");
    const runs = await collect(demo.listRuns({ resource: "chains/eval-harness", namespace: "dev" }));
    assert.ok(runs.some((r) => r.id === run.id), JSON.stringify(runs));
  });

  it("a run that needs approval answers it, and starts once granted", async () => {
    const demo = bob.org("demo");
    const input = { target: "prod-db" };
    const s = await demo.startRun({ resource: "chains/database-migration", namespace: "prod", input });
    assert.equal(s.result, "approval_required", JSON.stringify(s));
    assert.equal(s.run, undefined);
    await alice.org("demo").approve(s.approval!.id);
    const s2 = await demo.startRun({ resource: "chains/database-migration", namespace: "prod", input, approvalId: s.approval!.id });
    assert.equal(s2.result, "started", JSON.stringify(s2));
    assert.equal(s2.run!.approvalId, s.approval!.id);
    await demo.finishRun(s2.run!.id, { status: "failed", error: "boom" });
  });
});
