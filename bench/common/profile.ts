// Summary of V8 CPU profiles (.cpuprofile, from `node --cpu-prof`): self time by function and
// by area (Next.js, Prisma, pg, the app's own code, Node core, idle/GC).
import { promises as fs } from "node:fs";
import path from "node:path";

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] };
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };

export type ProfileSummary = {
  files: number;
  /** The start of the server left out (ms). */
  skippedMs: number;
  sampledMs: number;
  busyMs: number;
  byArea: { area: string; ms: number; percentOfBusy: number }[];
  topFunctions: { fn: string; where: string; ms: number; percentOfBusy: number }[];
};

function areaOf(url: string, fn: string): string {
  if (fn === "(idle)" || fn === "(program)" || fn === "(garbage collector)" || fn === "(root)") return fn;
  if (!url) return "native / V8";
  if (url.startsWith("node:")) return "node core";
  if (/prisma|query_compiler|query_engine/i.test(url) || /prisma/i.test(fn)) return "prisma";
  if (/node_modules\/pg(-[a-z]+)?\//.test(url)) return "pg";
  if (/node_modules\/next\//.test(url)) return "next";
  if (/node_modules\/zod\//.test(url)) return "zod";
  if (/node_modules\/execa\//.test(url)) return "execa";
  if (/node_modules\//.test(url)) return `node_modules/${url.split("node_modules/")[1].split("/")[0]}`;
  if (/\/server\/(chunks|app)\//.test(url)) return "app bundle (nbdhub + bundled deps)";
  return "other";
}

/** `skipFirstMs`: leave out the server's start (module loading, migrations, health polls). */
export async function summariseProfiles(dir: string, top = 20, skipFirstMs = 0): Promise<ProfileSummary | null> {
  const files = (await fs.readdir(dir).catch(() => [])).filter((f) => f.endsWith(".cpuprofile"));
  if (files.length === 0) return null;
  const byFn = new Map<string, { fn: string; where: string; ms: number }>();
  const byArea = new Map<string, number>();
  let sampled = 0;
  for (const f of files) {
    const p = JSON.parse(await fs.readFile(path.join(dir, f), "utf8")) as Profile;
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    let at = 0;
    p.samples.forEach((id, i) => {
      const ms = (p.timeDeltas[i] ?? 0) / 1000;
      at += ms;
      const n = nodes.get(id);
      if (!n || at < skipFirstMs) return;
      sampled += ms;
      const { functionName, url, lineNumber } = n.callFrame;
      const fn = functionName || "(anonymous)";
      const area = areaOf(url, fn);
      byArea.set(area, (byArea.get(area) ?? 0) + ms);
      const where = url
        ? `${url.replace(/^.*\/(node_modules|server)\//, "$1/").replace(/^file:\/\//, "")}:${lineNumber + 1}`
        : "";
      const key = `${fn}@${where}`;
      const e = byFn.get(key) ?? { fn, where, ms: 0 };
      e.ms += ms;
      byFn.set(key, e);
    });
  }
  const idle = byArea.get("(idle)") ?? 0;
  const busy = sampled - idle;
  const pct = (ms: number) => Math.round((ms / busy) * 1000) / 10;
  return {
    files: files.length,
    skippedMs: Math.round(skipFirstMs),
    sampledMs: Math.round(sampled),
    busyMs: Math.round(busy),
    byArea: [...byArea.entries()]
      .filter(([a]) => a !== "(idle)")
      .sort((a, b) => b[1] - a[1])
      .map(([area, ms]) => ({ area, ms: Math.round(ms), percentOfBusy: pct(ms) })),
    topFunctions: [...byFn.values()]
      .filter((e) => e.fn !== "(idle)")
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map((e) => ({ ...e, ms: Math.round(e.ms), percentOfBusy: pct(e.ms) })),
  };
}
