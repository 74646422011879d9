// The quickstart of README.md and of docs/sdk-typescript.md runs as
// printed (only the server's address differs), as a module importing
// "@gatehouse/sdk", and prints what its comment promises: true for bob,
// false "no_grant" for carol.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, it } from "node:test";
import ts from "typescript";
import { pkgDir, repoRoot, startServer, type TestServer } from "./harness.js";

let srv: TestServer;
before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv?.stop();
});

for (const doc of [join(pkgDir, "README.md"), join(repoRoot, "docs", "sdk-typescript.md")]) {
  it(`the quickstart of ${doc.slice(repoRoot.length + 1)} runs`, () => {
    const m = /```ts\n([\s\S]*?)```/.exec(readFileSync(doc, "utf8"));
    assert.ok(m, `${doc} has no ts block`);
    assert.ok(m[1].includes("http://127.0.0.1:8080"), "the quickstart talks to serve --dev's address");
    const js = ts.transpileModule(m[1].replaceAll("http://127.0.0.1:8080", srv.baseUrl), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    // Inside the package, so that "@gatehouse/sdk" resolves to it (a
    // package may import itself by name through its "exports").
    const dir = join(pkgDir, "build", "quickstart");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, doc.endsWith("README.md") ? "readme.mjs" : "docs.mjs");
    writeFileSync(file, js);
    const runAs = (key: string) =>
      execFileSync(process.execPath, [file], { env: { ...process.env, BOB_KEY: key }, encoding: "utf8", timeout: 60_000 }).trim();
    assert.equal(runAs(srv.keys.BOB_KEY), "true undefined");
    assert.equal(runAs(srv.keys.CAROL_KEY), "false no_grant");
  });
}
