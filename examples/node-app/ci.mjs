// Runs the example end to end, as CI does: starts `gatehouse serve --dev`
// (binary from $GATEHOUSE_BIN, else `go build`), serves the app, and calls
// it as the demo users, checking who gets through. Exits non-zero on any
// unexpected answer.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { makeApp } from "./app.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..", "..");
const data = mkdtempSync(join(tmpdir(), "node-app-"));
let bin = process.env.GATEHOUSE_BIN;
if (!bin) {
  bin = join(data, "gatehouse");
  execFileSync("go", ["build", "-o", bin, "./cmd/gatehouse"], { cwd: repo, stdio: "inherit" });
}
const gh = spawn(bin, ["serve", "--dev", "--data", data, "--addr", "127.0.0.1:0", "--log-level", "warn"], { stdio: ["ignore", "pipe", "inherit"] });
let failed = false;
try {
  const gatehouseUrl = await new Promise((ok, fail) => {
    let out = "";
    gh.stdout.on("data", (b) => {
      out += b;
      const m = /serving the API on (http:\/\/\S+)/.exec(out);
      if (m) ok(m[1]);
    });
    gh.on("exit", (code) => fail(new Error("gatehouse serve exited " + code + "\n" + out)));
  });
  const keys = Object.fromEntries(
    [...readFileSync(join(data, "demo-keys.env"), "utf8").matchAll(/^export (\w+)=(\S+)$/gm)].map((m) => [m[1], m[2]]),
  );
  const app = createServer(makeApp({ gatehouseUrl, org: "demo" }));
  await new Promise((ok) => app.listen(0, "127.0.0.1", ok));
  const base = `http://127.0.0.1:${app.address().port}`;
  const cases = [
    ["bob runs a prod chain (operator in prod)", "POST", "/chains/prod/database-migration/run", "BOB_KEY", 200],
    ["carol runs the chain shared with team support", "POST", "/chains/prod/escalation-triage/run", "CAROL_KEY", 200],
    ["carol may not run database-migration", "POST", "/chains/prod/database-migration/run", "CAROL_KEY", 403],
    ["carol may read it (viewer)", "GET", "/chains/prod/database-migration", "CAROL_KEY", 200],
    ["no key at all", "POST", "/chains/prod/database-migration/run", null, 401],
  ];
  for (const [name, method, path, who, want] of cases) {
    const headers = who ? { Authorization: "Bearer " + keys[who] } : {};
    const res = await fetch(base + path, { method, headers });
    const body = await res.json();
    const ok = res.status === want;
    failed ||= !ok;
    console.log(`${ok ? "ok  " : "FAIL"} ${res.status} ${name}: ${JSON.stringify(body)}`);
  }
  await new Promise((ok) => app.close(ok));
} finally {
  gh.kill("SIGTERM");
  await new Promise((ok) => gh.once("exit", ok));
  rmSync(data, { recursive: true, force: true });
}
if (failed) {
  console.error("node-app: some answers were not what the demo data says");
  process.exit(1);
}
console.log("node-app: every answer as expected");
