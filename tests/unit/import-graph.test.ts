// The floors of docs/decisions/013-layering.md, read from the source: the domain (and the
// database) never imports the HTTP layer or the runtime, client code never pulls a
// server-only module into the browser bundle, and no two folders of lib/ import each other.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { folderCycles, libFolderOf, readGraph, type SourceModule } from "../helpers/import-graph";

// NBDHUB_IMPORT_GRAPH_ROOT: judge another checkout (e.g. an older commit's) with these rules.
const here = path.dirname(fileURLToPath(import.meta.url));
const root = process.env.NBDHUB_IMPORT_GRAPH_ROOT ?? path.resolve(here, "../..");
const ENTRIES = ["lib", "app", "instrumentation.ts", "instrumentation-node.ts", "proxy.ts"];
const graph = readGraph(root, ENTRIES);

/** Floors below lib/runtime: they know neither HTTP (lib/api) nor the runtime that wires them. */
const DOMAIN = [
  ...["lib/nbd", "lib/backup", "lib/db", "lib/auth"],
  // wave 2, once they exist
  ...["lib/restore", "lib/policy", "lib/node", "lib/notify"],
  // and what the domain stands on
  ...["lib/stats", "lib/maintenance", "lib/fs", "lib/proc", "lib/config", "lib/errors", "lib/names", "lib/log"],
  // pure helpers the console shares
  ...["lib/format", "lib/messages"],
];
const UPPER = ["lib/api", "lib/runtime"];

const inFolder = (file: string, folder: string) => file.startsWith(`${folder}/`) || file === `${folder}.ts`;

/** Import chains from `starts` to a module `bad` says no to ("a → b → c"), each bad module once. */
function offendingChains(
  starts: SourceModule[],
  bad: (m: SourceModule) => boolean,
  { followTypeOnly }: { followTypeOnly: boolean },
): string[] {
  const offending: string[] = [];
  const seen = new Set<string>();
  const walk = (file: string, trail: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    const m = graph.get(file);
    if (!m) return;
    if (bad(m)) {
      offending.push([...trail, file].join(" → "));
      return;
    }
    for (const edge of m.imports) if (followTypeOnly || !edge.typeOnly) walk(edge.to, [...trail, file]);
  };
  for (const m of starts) walk(m.file, []);
  return offending;
}

describe("the import graph", () => {
  it("reads the project's files", () => {
    // A wrong root would make every rule below pass on nothing.
    expect(graph.has("lib/runtime/runtime.ts")).toBe(true);
    expect(graph.size).toBeGreaterThan(100);
  });

  it("the domain and the database import neither lib/api nor lib/runtime", () => {
    const offending: string[] = [];
    for (const m of graph.values()) {
      if (!DOMAIN.some((d) => inFolder(m.file, d))) continue;
      for (const edge of m.imports) {
        if (UPPER.some((u) => inFolder(edge.to, u))) offending.push(`${m.file} → ${edge.to}`);
      }
    }
    expect(offending, "domain modules that import the HTTP layer or the runtime").toEqual([]);
  });

  it("client code imports no server-only module, directly or through others", () => {
    const clients = [...graph.values()].filter((m) => m.useClient);
    expect(clients.length, '"use client" files found').toBeGreaterThan(5);
    // Type-only imports are erased: they never reach the browser.
    const offending = offendingChains(clients, (m) => m.serverOnly, { followTypeOnly: false });
    expect(offending, "client code that reaches a server-only module").toEqual([]);
  });

  it("nbdhub-client (lib/cli) reaches only the NBD client and pure helpers, never server code", () => {
    // It runs on a backup client's machine: the HTTP API and lib/nbd/client are all it has.
    const allowed = (file: string) =>
      ["lib/cli", "lib/nbd/client"].some((f) => inFolder(file, f)) ||
      ["lib/nbd/uri.ts", "lib/config/host-rules.ts", "lib/messages.ts", "lib/format.ts"].includes(file);
    const cli = [...graph.values()].filter((m) => inFolder(m.file, "lib/cli"));
    expect(cli.length, "lib/cli files found").toBeGreaterThan(5);
    const offending = offendingChains(cli, (m) => m.serverOnly || !allowed(m.file), { followTypeOnly: true });
    expect(offending, "lib/cli reaching beyond the NBD client and pure helpers").toEqual([]);
  });

  it("no folder of lib/ imports, through any chain, a folder that imports it", () => {
    const folders = new Map<string, Set<string>>();
    for (const m of graph.values()) {
      const from = libFolderOf(m.file);
      if (!from) continue;
      const targets = folders.get(from) ?? new Set<string>();
      folders.set(from, targets);
      for (const edge of m.imports) {
        const to = libFolderOf(edge.to);
        if (to && to !== from) targets.add(to);
      }
    }
    const cycles = folderCycles(folders);
    const explain = cycles.map((cycle) => {
      const inside = new Set(cycle);
      const edges = [...graph.values()]
        .filter((m) => inside.has(libFolderOf(m.file) ?? ""))
        .flatMap((m) =>
          m.imports
            .filter((e) => inside.has(libFolderOf(e.to) ?? "") && libFolderOf(e.to) !== libFolderOf(m.file))
            .map((e) => `${m.file} → ${e.to}`),
        );
      return `${cycle.join(" ↔ ")}: ${edges.join(", ")}`;
    });
    expect(explain, "folder-level cycles among lib/*").toEqual([]);
  });
});
