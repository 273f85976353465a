// Shared set-up of `npm start` and `npm test`: installs what is missing, generates the Prisma
// client and builds the app when the build is missing or stale. Plain Node (no dependencies),
// because it runs before `npm ci`.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const say = (m) => process.stdout.write(`[nbdhub] ${m}\n`);

export function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    say(`\`${cmd} ${args.join(" ")}\` failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
  return result;
}

function hashFiles(files) {
  const h = createHash("sha256");
  for (const f of files.sort()) {
    h.update(f);
    h.update(readFileSync(path.join(root, f)));
  }
  return h.digest("hex");
}

function listFiles(dir, out = []) {
  const abs = path.join(root, dir);
  if (!existsSync(abs)) return out;
  for (const entry of readdirSync(abs, { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === "node_modules" || entry.name === "generated") continue;
      listFiles(rel, out);
    } else out.push(rel);
  }
  return out;
}

function checkNode() {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 20 || (major === 20 && minor < 9)) {
    say(`Node ${process.versions.node} is too old: nbdhub needs Node 20.9 or newer.`);
    process.exit(1);
  }
}

function ensureNodeModules() {
  const lock = path.join(root, "package-lock.json");
  const stamp = path.join(root, "node_modules", ".nbdhub-lock-hash");
  const want = createHash("sha256").update(readFileSync(lock)).digest("hex");
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === want) return;
  say("installing npm packages (npm ci)");
  run("npm", ["ci", "--no-audit", "--no-fund"]);
  writeFileSync(stamp, want);
}

const TOOLS = {
  "qemu-nbd": "qemu-utils",
  "qemu-img": "qemu-utils",
  nbdcopy: "libnbd-bin",
  nbdinfo: "libnbd-bin",
};
const TEST_TOOLS = { chromium: "chromium", nbdkit: "nbdkit" };

function has(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

function ensureTools(forTests) {
  const wanted = { ...TOOLS, ...(forTests ? TEST_TOOLS : {}) };
  const missing = [
    ...new Set(
      Object.entries(wanted)
        .filter(([cmd]) => !has(cmd))
        .map(([, pkg]) => pkg),
    ),
  ];
  if (missing.length === 0) return;
  const command = `apt-get update && apt-get install -y ${missing.join(" ")}`;
  if (process.getuid?.() !== 0) {
    say(`missing Debian packages: ${missing.join(", ")}. Run, as root:\n\n    ${command}\n`);
    process.exit(1);
  }
  say(`installing Debian packages: ${missing.join(", ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  run("apt-get", ["update"], { env });
  run("apt-get", ["install", "-y", "--no-install-recommends", ...missing], { env });
}

function ensurePrismaClient() {
  const stampFile = path.join(root, "lib", "generated", ".schema-hash");
  const want = hashFiles(["prisma/schema.prisma", "package-lock.json"]);
  if (existsSync(stampFile) && readFileSync(stampFile, "utf8") === want) return;
  say("generating the Prisma client");
  // Prisma 7's CLI wants a schema-engine binary it cannot download here; generate does not use
  // it, so point it at a stub (docs/decisions/002-hand-written-migrations.md).
  run(path.join(root, "node_modules", ".bin", "prisma"), ["generate"], {
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: path.join(root, "scripts", "stubs", "schema-engine"),
      PRISMA_HIDE_UPDATE_MESSAGE: "1",
    },
  });
  mkdirSync(path.dirname(stampFile), { recursive: true });
  writeFileSync(stampFile, want);
}

export function distDir() {
  return process.env.NBDHUB_NEXT_DIST || ".next";
}

function buildInputs() {
  const top = readdirSync(root).filter((f) =>
    /^(instrumentation.*\.ts|proxy\.ts|next\.config\.ts|postcss\.config\.mjs|tsconfig\.json|package-lock\.json)$/.test(
      f,
    ),
  );
  return [...top, ...listFiles("app"), ...listFiles("lib"), ...listFiles("public"), "prisma/schema.prisma"].filter(
    (f) => statSync(path.join(root, f)).isFile(),
  );
}

export function ensureBuild() {
  const stampFile = path.join(root, distDir(), "nbdhub-build-stamp");
  const want = hashFiles(buildInputs());
  if (
    existsSync(path.join(root, distDir(), "BUILD_ID")) &&
    existsSync(stampFile) &&
    readFileSync(stampFile, "utf8") === want
  )
    return;
  say(`building the console (next build → ${distDir()})`);
  const started = Date.now();
  run(path.join(root, "node_modules", ".bin", "next"), ["build"], {
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
  });
  writeFileSync(stampFile, want);
  say(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Everything `npm start` needs; `forTests` adds Chromium and nbdkit. */
export function setup({ forTests = false } = {}) {
  checkNode();
  ensureTools(forTests);
  ensureNodeModules();
  ensurePrismaClient();
}
