// Drift check: every SDK wire type and member exists in the running
// server's /v1/openapi.json, with the same JSON type and requiredness.
//
// src/types.ts tags each wire interface `@schema Name` (generic `List` and
// `Written` stand for every List_X / Written_X). For each tagged interface
// the TypeScript compiler API lists its members (inherited ones included)
// and this test fails when a member's snake_case name is not a property of
// the schema, when its JSON type differs, when a member that references
// another tagged interface references another schema, when an answer's
// member is required in TypeScript but may be omitted by the server, or
// when a request member the server requires is optional in TypeScript.
// `@schema-pending Name` marks types of APIs being built (approvals): they
// are checked as soon as the server's document has the schema.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import ts from "typescript";
import { Gatehouse, type FetchLike } from "../src/index.js";
import { snake } from "../src/wire.js";
import { pkgDir, startServer, type TestServer } from "./harness.js";

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  $ref?: string;
  additionalProperties?: unknown;
  enum?: unknown[];
}

interface Doc {
  paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema: Schema }> }> }>>;
  components: { schemas: Record<string, Schema> };
}

const refName = (r: string) => r.replace("#/components/schemas/", "");

/** The schemas an answer (a 2xx or problem body) can contain, transitively. */
function answerSchemas(doc: Doc): Set<string> {
  const out = new Set<string>();
  const walk = (s: Schema | undefined) => {
    if (!s) return;
    if (s.$ref) {
      const n = refName(s.$ref);
      if (out.has(n)) return;
      out.add(n);
      walk(doc.components.schemas[n]);
      return;
    }
    walk(s.items);
    for (const p of Object.values(s.properties ?? {})) walk(p);
  };
  for (const ops of Object.values(doc.paths)) {
    for (const op of Object.values(ops)) {
      for (const r of Object.values(op.responses ?? {})) {
        for (const c of Object.values(r.content ?? {})) walk(c.schema);
      }
    }
  }
  return out;
}

/** The JSON kind of a schema: "string", "number", "boolean", "array", "object", or "" for any JSON. */
function schemaKind(s: Schema): string {
  if (s.$ref) return "object";
  if (s.type === "integer" || s.type === "number") return "number";
  return s.type ?? "";
}

interface Found {
  iface: string;
  schema: string;
  pending: boolean;
  members: { name: string; optional: boolean; kind: string; ref: string; generic: boolean }[];
}

/** The files whose interfaces may carry @schema tags. */
const tagged = ["types.ts", "guard.ts"].map((f) => join(pkgDir, "src", f));

/** Reads the tagged interfaces with the compiler API. */
function sdkTypes(): Found[] {
  const program = ts.createProgram(tagged, { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext });
  const checker = program.getTypeChecker();
  const tags = new Map<string, { schema: string; pending: boolean }>();
  const decls: ts.InterfaceDeclaration[] = [];
  for (const file of tagged) {
    const sf = program.getSourceFile(file)!;
    ts.forEachChild(sf, (n) => {
      if (!ts.isInterfaceDeclaration(n)) return;
      const comment = sf.getFullText().slice(n.getFullStart(), n.getStart());
      const m = /@schema(-pending)? (\w+)/.exec(comment);
      if (!m) return;
      tags.set(n.name.text, { schema: m[2], pending: !!m[1] });
      decls.push(n);
    });
  }
  const kindOf = (t: ts.Type): { kind: string; ref: string; generic: boolean } => {
    let parts = t.isUnion() ? t.types : [t];
    parts = parts.filter((p) => !(p.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined)));
    if (parts.length === 0) return { kind: "", ref: "", generic: false };
    const kinds = new Set<string>();
    let ref = "";
    let generic = false;
    for (const p of parts) {
      if (p.flags & ts.TypeFlags.TypeParameter) generic = true;
      if (p.flags & ts.TypeFlags.StringLike || (p.isIntersection() && p.types.some((x) => x.flags & ts.TypeFlags.StringLike))) kinds.add("string");
      else if (p.flags & ts.TypeFlags.NumberLike) kinds.add("number");
      else if (p.flags & ts.TypeFlags.BooleanLike) kinds.add("boolean");
      else if (p.flags & (ts.TypeFlags.Unknown | ts.TypeFlags.Any)) kinds.add("");
      else if (checker.isArrayType(p)) {
        kinds.add("array");
        const el = (p as ts.TypeReference).typeArguments?.[0];
        if (el && el.flags & ts.TypeFlags.TypeParameter) generic = true;
        const name = el?.aliasSymbol?.name ?? el?.getSymbol()?.name ?? "";
        if (tags.has(name)) ref = tags.get(name)!.schema;
      } else if (p.flags & ts.TypeFlags.Object) {
        kinds.add("object");
        const name = p.aliasSymbol?.name ?? p.getSymbol()?.name ?? "";
        if (tags.has(name)) ref = tags.get(name)!.schema;
      } else kinds.add("?" + checker.typeToString(p));
    }
    return { kind: kinds.size === 1 ? [...kinds][0] : [...kinds].sort().join("|"), ref, generic };
  };
  return decls.map((d) => {
    const t = checker.getTypeAtLocation(d);
    const tag = tags.get(d.name.text)!;
    return {
      iface: d.name.text,
      ...tag,
      members: checker.getPropertiesOfType(t).map((p) => {
        const pt = checker.getTypeOfSymbolAtLocation(p, d);
        return { name: p.name, optional: (p.flags & ts.SymbolFlags.Optional) !== 0, ...kindOf(pt) };
      }),
    };
  });
}

/** Every disagreement between the SDK's types and the document. */
export function drift(doc: Doc, found: Found[]): { errors: string[]; notes: string[] } {
  const errors: string[] = [];
  const notes: string[] = [];
  const answers = answerSchemas(doc);
  const all = doc.components.schemas;
  for (const f of found) {
    const names = f.schema === "List" || f.schema === "Written" ? Object.keys(all).filter((n) => n.startsWith(f.schema + "_")) : [f.schema];
    if (names.length === 0 || !all[names[0]]) {
      (f.pending ? notes : errors).push(`${f.iface}: the server has no schema ${f.schema}${f.pending ? " yet" : ""}`);
      continue;
    }
    for (const n of names) {
      const s = all[n];
      const props = s.properties ?? {};
      const required = new Set(s.required ?? []);
      const isAnswer = answers.has(n);
      for (const m of f.members) {
        const wire = snake(m.name);
        const p = props[wire];
        const at = `${f.iface}.${m.name} (${n}.${wire})`;
        if (!p) {
          errors.push(`${at}: the schema has no such property`);
          continue;
        }
        if (isAnswer && !m.optional && !required.has(wire)) errors.push(`${at}: required in the SDK, but the server may omit it`);
        if (!isAnswer && m.optional && required.has(wire)) errors.push(`${at}: the server requires it, the SDK makes it optional`);
        if (m.generic) continue;
        const want = schemaKind(p);
        if (want !== "" && m.kind !== "" && m.kind !== want) errors.push(`${at}: the SDK says ${m.kind}, the schema ${want}`);
        const pref = p.$ref ?? p.items?.$ref;
        if (m.ref && pref && refName(pref) !== m.ref) errors.push(`${at}: the SDK's type is schema ${m.ref}, the server's ${refName(pref)}`);
        if (!m.ref && pref) errors.push(`${at}: the server's ${refName(pref)} is not a tagged SDK type`);
      }
      const mine = new Set(f.members.map((m) => snake(m.name)));
      for (const p of Object.keys(props)) if (!mine.has(p)) notes.push(`${f.iface}: schema ${n} has ${p}, which the SDK does not declare`);
    }
  }
  return { errors, notes };
}

/**
 * Calls every method of Gatehouse and OrgClient with placeholder arguments
 * over a recording fetch and returns the requests they make, as
 * "METHOD /path" (query left out).
 */
async function sdkRoutes(): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  let current = "";
  const fetch: FetchLike = async (url, init) => {
    seen.set(`${init.method} ${new URL(url).pathname}`, current);
    const any = { revision: 1, item: {}, items: [], next_cursor: "", allowed: true, results: [], token: "t" };
    return new Response(JSON.stringify(any), { status: 200 });
  };
  const gh = new Gatehouse({ baseUrl: "http://sdk.test", token: "t", fetch, retry: { maxAttempts: 1 } });
  const arg = { namespace: "n", type: "t", id: "i", action: "a:b", toString: () => "x" };
  const targets: [string, object][] = [
    ["Gatehouse", gh],
    ["OrgClient", gh.org("o")],
  ];
  for (const [cls, obj] of targets) {
    const proto = Object.getPrototypeOf(obj) as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const desc = Object.getOwnPropertyDescriptor(proto, name)!;
      if (name === "constructor" || typeof desc.value !== "function") continue;
      if (cls === "Gatehouse" && ["withToken", "forwardingFor", "org", "write", "atLeast", "pages", "observeRevision"].includes(name)) continue;
      if (cls === "OrgClient" && ["w", "resPath", "checkBody"].includes(name)) continue;
      current = `${cls}.${name}`;
      const before = seen.size;
      let out = (desc.value as (...a: unknown[]) => unknown).call(obj, arg, arg, arg);
      if (out && typeof (out as { page?: unknown }).page === "function") out = (out as { page: () => unknown }).page();
      else if (out && typeof (out as AsyncGenerator).next === "function") out = (out as AsyncGenerator).next();
      await out;
      assert.ok(seen.size > before || [...seen.values()].includes(current), `${current} made no request`);
    }
  }
  return seen;
}

describe("the SDK's routes against /v1/openapi.json", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv?.stop();
  });

  it("every request an SDK method makes is a route of the served document", async () => {
    const doc = (await new Gatehouse({ baseUrl: srv.baseUrl }).openapi()) as unknown as Doc;
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => ({ m: m.toUpperCase(), re: new RegExp("^" + path.replace(/\{[^}]+\}/g, "[^/]+") + "$") })),
    );
    const seen = await sdkRoutes();
    assert.ok(seen.size >= 60, `only ${seen.size} requests recorded`);
    const unknown = [...seen].filter(([req]) => {
      const [m, p] = req.split(" ");
      return !routes.some((r) => r.m === m && r.re.test(p));
    });
    assert.deepEqual(unknown.map(([req, by]) => `${by}: ${req}`), []);
  });
});

describe("the SDK's types against /v1/openapi.json", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv?.stop();
  });

  it("every tagged type and member exists in the served document", async (t) => {
    const doc = (await new Gatehouse({ baseUrl: srv.baseUrl }).openapi()) as unknown as Doc;
    const found = sdkTypes();
    assert.ok(found.length >= 60, `only ${found.length} tagged types found: is the @schema tag still parsed?`);
    const { errors, notes } = drift(doc, found);
    for (const n of notes) t.diagnostic(n);
    assert.ok(notes.some((n) => n.startsWith("Approval:")) || found.some((f) => f.iface === "Approval" && doc.components.schemas[f.schema]), "the pending Approval type was not considered");
    assert.deepEqual(errors, [], errors.join("\n"));
  });

  it("reports drift: a member, a type and a requiredness the server does not have", () => {
    const doc: Doc = {
      paths: { "/x": { get: { responses: { "200": { content: { "application/json": { schema: { $ref: "#/components/schemas/Org" } } } } } } } },
      components: {
        schemas: {
          Org: { type: "object", properties: { id: { type: "string" }, created_at: { type: "integer" } }, required: ["id"] },
          CreateOrgRequest: { type: "object", properties: { id: { type: "string" }, name: { type: "string" }, template: { type: "string" } }, required: ["id", "name"] },
        },
      },
    };
    const found = sdkTypes().filter((f) => f.iface === "Org" || f.iface === "CreateOrgRequest");
    const { errors } = drift(doc, found);
    assert.deepEqual(errors.sort(), [
      "CreateOrgRequest.name (CreateOrgRequest.name): the server requires it, the SDK makes it optional",
      "Org.createdAt (Org.created_at): required in the SDK, but the server may omit it",
      "Org.createdAt (Org.created_at): the SDK says string, the schema number",
      "Org.lifecycle (Org.lifecycle): the schema has no such property",
      "Org.name (Org.name): the schema has no such property",
      "Org.template (Org.template): the schema has no such property",
    ]);
  });
});
