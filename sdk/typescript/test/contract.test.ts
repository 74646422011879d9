// The language-neutral contract suite (sdk/contract/cases.json, format in
// sdk/contract/README.md), run through this SDK's public methods against a
// real `gatehouse serve --dev`.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Gatehouse, ProblemError, collect, kindOf, type JsonObject } from "../src/index.js";
import { fromWire, toWire } from "../src/wire.js";
import { pkgDir, startServer, type TestServer } from "./harness.js";

const casesPath = process.env.GATEHOUSE_CONTRACT_CASES ?? join(pkgDir, "..", "contract", "cases.json");
const INVALID_KEY = "gth_0000000000000000_invalidinvalidinvalidinvalidinvalidinvalidinvalid0";

interface Case {
  name: string;
  as: string | null;
  op: string;
  args: Record<string, unknown>;
  expect: { allowed?: boolean; result?: unknown; error?: Record<string, unknown>; [k: string]: unknown };
}

/** The README's subset match; returns "" or where it failed. */
export function mismatch(expected: unknown, actual: unknown, at = "$"): string {
  if (expected === "$any") return actual === undefined || actual === null ? `${at}: want a value, got ${JSON.stringify(actual)}` : "";
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${at}: want an array, got ${JSON.stringify(actual)}`;
    if (expected.length !== actual.length) return `${at}: want ${expected.length} elements, got ${actual.length}: ${JSON.stringify(actual)}`;
    for (let i = 0; i < expected.length; i++) {
      const m = mismatch(expected[i], actual[i], `${at}[${i}]`);
      if (m) return m;
    }
    return "";
  }
  if (expected !== null && typeof expected === "object") {
    const e = expected as Record<string, unknown>;
    if ("$contains" in e && Object.keys(e).length === 1) {
      if (!Array.isArray(actual)) return `${at}: want an array, got ${JSON.stringify(actual)}`;
      for (const want of e.$contains as unknown[]) {
        if (!actual.some((a) => mismatch(want, a) === "")) return `${at}: no element matches ${JSON.stringify(want)} in ${JSON.stringify(actual)}`;
      }
      return "";
    }
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return `${at}: want an object, got ${JSON.stringify(actual)}`;
    for (const [k, v] of Object.entries(e)) {
      if (!(k in (actual as object))) return `${at}.${k}: missing in ${JSON.stringify(actual)}`;
      const m = mismatch(v, (actual as Record<string, unknown>)[k], `${at}.${k}`);
      if (m) return m;
    }
    return "";
  }
  return expected === actual ? "" : `${at}: want ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

/** Takes the named members out of args (path parameters) and returns the rest converted to camelCase. */
function split(args: Record<string, unknown>, ...names: string[]): [Record<string, string>, JsonObject] {
  const path: Record<string, string> = {};
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    if (names.includes(k)) path[k] = String(v);
    else rest[k] = v;
  }
  return [path, fromWire<JsonObject>(rest)];
}

/** Runs one op through the SDK; resolves with its result as wire JSON. */
async function run(gh: Gatehouse, op: string, args: Record<string, unknown>): Promise<unknown> {
  const wire = (v: unknown) => toWire(v);
  const [p, a] = split(args, "org");
  const org = gh.org(p.org ?? "");
  switch (op) {
    case "me":
      return wire(await gh.me(a as { namespace?: string }));
    case "check":
      return wire(await org.check(a as never));
    case "check_batch": {
      const out = wire(await org.checkBatch(a.checks as never)) as { results: { error?: { type: string } }[] };
      for (const r of out.results) if (r.error) r.error.type = kindOf(r.error.type);
      return out;
    }
    case "explain":
      return wire(await org.explain(a as never));
    case "lookup_resources":
      return wire(await org.lookupResourcesPage(a as never));
    case "lookup_resources_all":
      return wire({ items: await collect(org.lookupResources(a as never)) });
    case "lookup_subjects":
      return wire(await org.lookupSubjects(a as never));
    case "principal_permissions": {
      const { principal, ...o } = a as { principal: string; namespace?: string };
      return wire(await org.permissions(principal, o));
    }
    case "policy_get":
      return wire(await org.getPolicy());
    case "policy_validate":
      return wire(await org.validatePolicy(String(a.text)));
    case "create_org":
      return wire(await gh.createOrg(a as never));
    case "create_namespace":
      return wire(await org.createNamespace(String(a.name)));
    case "list_namespaces":
      return wire(await org.listNamespaces(a as never).page());
    case "add_member":
      return wire(await org.addMember(String(a.userId), String(a.role)));
    case "list_members":
      return wire(await org.listMembers(a as never).page());
    case "invite":
      return wire(await org.invite(a as never));
    case "create_team":
      return wire(await org.createTeam(a as never));
    case "create_binding":
      return wire(await org.createBinding(a as never));
    case "create_resource":
      return wire(await org.createResource(a as never));
    case "get_resource":
      return wire(await org.getResource(a as never));
    case "share": {
      const { principal, actions, expiresAt, expiresIn, ...ref } = a as {
        principal: string;
        actions: string[];
        namespace: string;
        type: string;
        id: string;
        expiresAt?: string;
        expiresIn?: string;
      };
      return wire(await org.share(ref, principal, actions, { expiresAt, expiresIn }));
    }
    case "create_agent":
      return wire(await org.createAgent(a as never));
    case "get_agent":
      return wire(await org.getAgent(String(a.name)));
    case "update_agent": {
      const { name, ...patch } = a;
      return wire(await org.updateAgent(String(name), patch));
    }
    case "attest_agent":
      return wire(await org.attestAgent(String(a.name)));
    case "list_agents":
      return wire(await org.listAgents(a as never).page());
    case "set_lifecycle":
      return wire(await org.setLifecycle(a));
    case "reach":
      return wire(await org.reach(String(a.principal)));
    case "mint_agent_token": {
      const { name, ...req } = a;
      return wire(await org.mintAgentToken(String(name), req as never));
    }
    default:
      throw new Error(`the TypeScript runner does not know op ${JSON.stringify(op)} (add it to test/contract.test.ts)`);
  }
}

/** Compares an outcome with a case's expectation; "" when it matches. */
function judge(c: Case, result: unknown, err: unknown): string {
  const { allowed, result: want, error, ...rest } = c.expect;
  if (error) {
    if (!(err instanceof ProblemError)) return `want a problem ${JSON.stringify(error)}, got ${err ? String(err) : "a result " + JSON.stringify(result)}`;
    const doc = { ...(toWire(err.problem) as object), type: err.kind, status: err.status };
    return mismatch(error, doc, "error");
  }
  if (err) return `want a result, got ${String(err)}`;
  if (allowed !== undefined) return mismatch({ allowed, ...rest }, result, "result");
  return mismatch(want, result, "result");
}

const have = existsSync(casesPath);
describe("contract suite", { skip: have || process.env.GATEHOUSE_REQUIRE_CONTRACT ? false : `no ${casesPath}` }, () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv?.stop();
  });

  it("every case of cases.json passes", async () => {
    const file = JSON.parse(readFileSync(casesPath, "utf8")) as { version: number; cases: Case[] };
    assert.equal(file.version, 1, "cases.json version");
    assert.ok(file.cases.length > 0, "no cases");
    const base = new Gatehouse({ baseUrl: srv.baseUrl });
    const failures: string[] = [];
    const names = new Set<string>();
    for (const c of file.cases) {
      if (names.has(c.name)) failures.push(`${c.name}: duplicate name`);
      names.add(c.name);
      const token = c.as === null ? undefined : (srv.keys[c.as] ?? INVALID_KEY);
      const gh = base.withToken(token);
      let result: unknown;
      let err: unknown;
      try {
        result = await run(gh, c.op, c.args);
      } catch (e) {
        err = e;
      }
      const m = judge(c, result, err);
      if (m) failures.push(`${c.name}: ${m}`);
    }
    assert.deepEqual(failures, [], `${failures.length} of ${file.cases.length} contract cases failed:\n` + failures.join("\n"));
  });
});

describe("contract matcher", () => {
  const cases: [string, unknown, unknown, boolean][] = [
    ["subset object", { a: 1 }, { a: 1, b: 2 }, true],
    ["missing key", { a: 1 }, { b: 1 }, false],
    ["array length", [1], [1, 2], false],
    ["contains", { $contains: [{ p: "x" }] }, [{ p: "y" }, { p: "x", q: 1 }], true],
    ["contains missing", { $contains: [{ p: "z" }] }, [{ p: "y" }], false],
    ["any present", "$any", "x", true],
    ["any null", "$any", null, false],
    ["numbers", 3, 3, true],
  ];
  for (const [name, e, a, ok] of cases) {
    it(name, () => assert.equal(mismatch(e, a) === "", ok, mismatch(e, a)));
  }
});
