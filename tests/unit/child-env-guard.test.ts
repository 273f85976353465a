// Issue 11, item 5 (guard): lib/ starts child processes only through lib/proc/child.ts, which
// gives each one the explicit environment of lib/proc/child-env.ts. A new `execa(…)` or
// `spawn(…)` elsewhere in lib/ would inherit the server's secrets: this test names it.
import { promises as fs } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runChild } from "@/lib/proc/child";
import { childEnv } from "@/lib/proc/child-env";

const root = path.resolve(__dirname, "../..");
// nbdhub-client's private qemu-nbd: the CLI runs on a backup client's machine, never in the server
// (lib/proc/child.ts is server-only), and gives its child only PATH and LANG.
// lib/proc/child.ts forks the process helper; spawner-core.mjs starts children with execa, in
// the helper (or, when the helper cannot start, in the server), with the environment it is given.
const ALLOWED = new Set(["lib/proc/child.ts", "lib/proc/spawner-core.mjs", "lib/cli/local-export.ts"]);
const MODULE = `["'](execa|(node:)?child_process)["']`;
/** `from "execa"`, `require("child_process")`, `import("node:child_process")`. */
const STARTS_CHILDREN = new RegExp(`from\\s+${MODULE}|require\\(\\s*${MODULE}\\s*\\)|import\\(\\s*${MODULE}\\s*\\)`);

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "generated") out.push(...(await sourceFiles(full)));
    } else if (/\.(ts|tsx|mts|cts|mjs|js)$/.test(entry.name)) out.push(full);
  }
  return out;
}

describe("child process environment", () => {
  it("only lib/proc/child.ts imports execa or child_process in lib/ and the app", async () => {
    const offenders: string[] = [];
    const files = [...(await sourceFiles(path.join(root, "lib"))), ...(await sourceFiles(path.join(root, "app")))];
    for (const file of [...files, path.join(root, "instrumentation.ts"), path.join(root, "instrumentation-node.ts")]) {
      const rel = path.relative(root, file);
      const text = await fs.readFile(file, "utf8");
      if (STARTS_CHILDREN.test(text) && !ALLOWED.has(rel)) offenders.push(rel);
    }
    expect(offenders, "start children through runChild (lib/proc/child.ts)").toEqual([]);
  });

  it("runChild never extends the server's environment", async () => {
    const secret = "runchild-guard-secret-0f9e";
    process.env.NBDHUB_GUARD_SECRET = secret;
    try {
      const r = await runChild("env", [], { env: { NBDHUB_MOVER_OF: "/run/dir" } });
      const keys = String(r.stdout)
        .split("\n")
        .filter(Boolean)
        .map((line) => line.slice(0, line.indexOf("=")));
      expect(String(r.stdout)).not.toContain(secret);
      expect(keys.sort()).toEqual(["LANG", "LC_ALL", "NBDHUB_MOVER_OF", "PATH"]);
    } finally {
      delete process.env.NBDHUB_GUARD_SECRET;
    }
  });

  it("the child environment holds PATH, the locale and what the caller adds, nothing of the server's", () => {
    const saved = { ...process.env };
    process.env.NBDHUB_BOOTSTRAP_TOKEN = "x".repeat(40);
    process.env.DATABASE_URL = "postgresql://u:p@h/d";
    try {
      const env = childEnv({ NBDHUB_MOVER_OF: "/run/dir" });
      expect(Object.keys(env).sort()).toEqual(["LANG", "LC_ALL", "NBDHUB_MOVER_OF", "PATH"]);
      expect(env.PATH).toBe(process.env.PATH);
    } finally {
      process.env = saved;
    }
  });
});
