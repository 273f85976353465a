// `npm test`: the same set-up as `npm start` (plus Chromium and nbdkit), a build when stale,
// then every test: Vitest (unit and integration, real Postgres and qemu-nbd) and Playwright
// (end-to-end in Chromium). Ends with one line "N passed, N failed".
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { ensureBuild, root, setup } from "./setup.mjs";

const args = process.argv.slice(2);
const only = args.find((a) => ["unit", "integration", "e2e", "vitest"].includes(a));
setup({ forTests: true });
ensureBuild();

const artifacts = path.join(root, "tests", "artifacts");
mkdirSync(artifacts, { recursive: true });
const env = {
  ...process.env,
  NBDHUB_SKIP_BUILD: "1",
  NEXT_TELEMETRY_DISABLED: "1",
  NBDHUB_LOG: process.env.NBDHUB_LOG ?? "",
};
let passed = 0;
let failed = 0;
let skipped = 0;
let exitCode = 0;

if (!only) {
  // Types are checked once for the whole project here (next build skips it).
  const r = spawnSync(path.join(root, "node_modules", ".bin", "tsc"), ["--noEmit", "-p", "tsconfig.json"], {
    stdio: "inherit",
    cwd: root,
    env,
  });
  if (r.status !== 0) {
    exitCode = r.status ?? 1;
    failed += 1;
    console.log("[nbdhub] type check failed");
  } else passed += 1;
  // The linter (ESLint with the Next.js rules) and the formatter (Prettier, lines up to 120).
  for (const [tool, toolArgs] of [
    ["eslint", [".", "--max-warnings=0"]],
    ["prettier", ["--check", "--log-level=warn", "."]],
  ]) {
    const l = spawnSync(path.join(root, "node_modules", ".bin", tool), toolArgs, { stdio: "inherit", cwd: root, env });
    if (l.status !== 0) {
      exitCode = l.status ?? 1;
      failed += 1;
      console.log(`[nbdhub] ${tool} found problems: run \`npm run lint\` or \`npm run format\``);
    } else passed += 1;
  }
}

if (!only || only !== "e2e") {
  const vitestJson = path.join(artifacts, "vitest-results.json");
  rmSync(vitestJson, { force: true });
  const projects = only === "unit" ? ["tests/unit"] : only === "integration" ? ["tests/integration"] : [];
  const r = spawnSync(
    path.join(root, "node_modules", ".bin", "vitest"),
    ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${vitestJson}`, ...projects],
    { stdio: "inherit", cwd: root, env },
  );
  if (r.status !== 0) exitCode = r.status ?? 1;
  if (existsSync(vitestJson)) {
    const j = JSON.parse(readFileSync(vitestJson, "utf8"));
    passed += j.numPassedTests;
    failed += j.numFailedTests;
    skipped += j.numPendingTests + (j.numTodoTests ?? 0);
    if (j.numFailedTestSuites > 0 && j.numFailedTests === 0) failed += j.numFailedTestSuites;
  } else failed += 1;
}

if (!only || only === "e2e") {
  const pwJson = path.join(artifacts, "e2e-results.json");
  rmSync(pwJson, { force: true });
  const r = spawnSync(path.join(root, "node_modules", ".bin", "playwright"), ["test"], {
    stdio: "inherit",
    cwd: root,
    env,
  });
  if (r.status !== 0) exitCode = r.status ?? 1;
  if (existsSync(pwJson)) {
    const s = JSON.parse(readFileSync(pwJson, "utf8")).stats ?? {};
    passed += (s.expected ?? 0) + (s.flaky ?? 0);
    failed += s.unexpected ?? 0;
    skipped += s.skipped ?? 0;
  } else failed += 1;
}

console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(exitCode || (failed > 0 ? 1 : 0));
