// The test harness: a real `gatehouse serve --dev` on a free port with a
// fresh data directory, and the demo users' keys.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** sdk/typescript. */
export const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The repository root (go.mod). */
export const repoRoot = resolve(pkgDir, "..", "..");

/** The gatehouse binary: $GATEHOUSE_BIN, else build/gatehouse (built with go build when missing). */
export function gatehouseBin(): string {
  const env = process.env.GATEHOUSE_BIN;
  if (env) return env;
  const out = join(pkgDir, "build", "gatehouse");
  if (!existsSync(out)) {
    execFileSync("go", ["build", "-o", out, "./cmd/gatehouse"], { cwd: repoRoot, stdio: "inherit" });
  }
  return out;
}

/** A running server. */
export interface TestServer {
  baseUrl: string;
  /** ALICE_KEY, BOB_KEY, CAROL_KEY from demo-keys.env. */
  keys: Record<string, string>;
  dataDir: string;
  stop(): Promise<void>;
}

/** Starts `gatehouse serve --dev` and waits until it is ready. */
export async function startServer(): Promise<TestServer> {
  const bin = gatehouseBin();
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-ts-"));
  const child: ChildProcess = spawn(bin, ["serve", "--dev", "--data", dataDir, "--addr", "127.0.0.1:0", "--log-level", "warn"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  const baseUrl = await new Promise<string>((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error("gatehouse serve did not start in 60s:\n" + out + stderr)), 60_000);
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /serving the API on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`gatehouse serve exited (${code}):\n${out}${stderr}`));
    });
  });
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(baseUrl + "/readyz");
      if (r.ok) break;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const keys: Record<string, string> = {};
  for (const line of readFileSync(join(dataDir, "demo-keys.env"), "utf8").split("\n")) {
    const m = /^export ([A-Z_]+)=(\S+)$/.exec(line.trim());
    if (m) keys[m[1]] = m[2];
  }
  return {
    baseUrl,
    keys,
    dataDir,
    stop: () =>
      new Promise<void>((ok) => {
        if (child.exitCode !== null) {
          rmSync(dataDir, { recursive: true, force: true });
          return ok();
        }
        child.once("exit", () => {
          rmSync(dataDir, { recursive: true, force: true });
          ok();
        });
        child.kill("SIGTERM");
      }),
  };
}
