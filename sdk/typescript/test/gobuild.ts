// Builds the gatehouse binary the tests run (unless $GATEHOUSE_BIN names one).
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { pkgDir, repoRoot } from "./harness.js";

if (!process.env.GATEHOUSE_BIN) {
  execFileSync("go", ["build", "-o", join(pkgDir, "build", "gatehouse"), "./cmd/gatehouse"], { cwd: repoRoot, stdio: "inherit" });
}
