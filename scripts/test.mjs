// `npm test`: the same set-up as `npm start` (plus Chromium and nbdkit), a build when stale,
// then every test: Vitest (unit and integration, real Postgres and qemu-nbd) and Playwright
// (end-to-end in Chromium). Ends with one line "N passed, N failed".
import { spawn } from "node:child_process";
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

/** A child whose output is kept and printed when it ends, so that children running side by side do not interleave. */
function runQuietly(command, commandArgs) {
  return new Promise((resolve) => {
    const child = spawn(command, commandArgs, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    const chunks = [];
    child.stdout.on("data", (c) => chunks.push(c));
    child.stderr.on("data", (c) => chunks.push(c));
    child.on("error", (error) => resolve({ status: 1, output: `${command}: ${error.message}\n` }));
    child.on("close", (status) => resolve({ status: status ?? 1, output: Buffer.concat(chunks).toString() }));
  });
}

function runLoudly(command, commandArgs) {
  return new Promise((resolve) => {
    const child = spawn(command, commandArgs, { cwd: root, env, stdio: "inherit" });
    child.on("error", () => resolve(1));
    child.on("close", (status) => resolve(status ?? 1));
  });
}

const bin = (tool) => path.join(root, "node_modules", ".bin", tool);

if (!only) {
  // Types are checked once for the whole project here (next build skips it); the linter (ESLint
  // with the Next.js rules) and the formatter (Prettier, lines up to 120) beside it. Each is one
  // thread: side by side they take the time of the slowest.
  const checks = [
    ["type check", "tsc", ["--noEmit", "-p", "tsconfig.json"], "fix the types"],
    ["eslint", "eslint", [".", "--max-warnings=0"], "run `npm run lint`"],
    ["prettier", "prettier", ["--check", "--log-level=warn", "."], "run `npm run format`"],
  ];
  const began = Date.now();
  const results = await Promise.all(checks.map(([, tool, toolArgs]) => runQuietly(bin(tool), toolArgs)));
  checks.forEach(([name, , , hint], i) => {
    const { status, output } = results[i];
    if (output.trim()) process.stdout.write(output);
    if (status !== 0) {
      exitCode = status;
      failed += 1;
      console.log(`[nbdhub] ${name} found problems: ${hint}`);
    } else passed += 1;
  });
  console.log(`[nbdhub] type check, eslint and prettier: ${((Date.now() - began) / 1000).toFixed(0)} s`);
}

function countVitest(vitestJson) {
  if (!existsSync(vitestJson)) {
    failed += 1;
    return;
  }
  const j = JSON.parse(readFileSync(vitestJson, "utf8"));
  passed += j.numPassedTests;
  failed += j.numFailedTests;
  skipped += j.numPendingTests + (j.numTodoTests ?? 0);
  if (j.numFailedTestSuites > 0 && j.numFailedTests === 0) failed += j.numFailedTestSuites;
}

function countPlaywright(pwJson) {
  if (!existsSync(pwJson)) {
    failed += 1;
    return;
  }
  const s = JSON.parse(readFileSync(pwJson, "utf8")).stats ?? {};
  passed += (s.expected ?? 0) + (s.flaky ?? 0);
  failed += s.unexpected ?? 0;
  skipped += s.skipped ?? 0;
}

const runVitest = !only || only !== "e2e";
const runE2e = !only || only === "e2e";
const vitestJson = path.join(artifacts, "vitest-results.json");
const pwJson = path.join(artifacts, "e2e-results.json");
const projects = only === "unit" ? ["tests/unit"] : only === "integration" ? ["tests/integration"] : [];
const vitestArgs = ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${vitestJson}`, ...projects];
if (runVitest) rmSync(vitestJson, { force: true });
if (runE2e) rmSync(pwJson, { force: true });

if (runVitest && runE2e && process.env.NBDHUB_TEST_SERIAL !== "1") {
  // Both spend much of their time waiting (for a copy, a stall timer, a page): the end-to-end
  // tests (one worker, their own server and database) run beside Vitest, and their report is
  // printed when they end. NBDHUB_TEST_SERIAL=1 runs them one after the other.
  console.log("[nbdhub] Vitest and Playwright run side by side; Playwright's report follows Vitest's");
  const e2e = runQuietly(bin("playwright"), ["test"]);
  const vitestStatus = await runLoudly(bin("vitest"), vitestArgs);
  const { status: e2eStatus, output } = await e2e;
  process.stdout.write(`\n[nbdhub] end-to-end tests (Playwright, Chromium):\n${output}`);
  if (vitestStatus !== 0) exitCode = vitestStatus;
  if (e2eStatus !== 0) exitCode = e2eStatus;
  countVitest(vitestJson);
  countPlaywright(pwJson);
} else {
  if (runVitest) {
    const status = await runLoudly(bin("vitest"), vitestArgs);
    if (status !== 0) exitCode = status;
    countVitest(vitestJson);
  }
  if (runE2e) {
    const status = await runLoudly(bin("playwright"), ["test"]);
    if (status !== 0) exitCode = status;
    countPlaywright(pwJson);
  }
}

console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(exitCode || (failed > 0 ? 1 : 0));
