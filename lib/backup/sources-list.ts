// The disk images under the sources root, for the New backup form (GET /sources). qemu-img
// info per file, cached by path, size and modification time.
import "server-only";
import { promises as fs } from "node:fs";
import path from "node:path";
import { execa } from "execa";

export type SourceItem = { path: string; name: string; format: string; virtualSize: number; actualSize: number; modifiedAt: string };

const cache = new Map<string, { key: string; item: SourceItem | null }>();

async function describe(root: string, rel: string): Promise<SourceItem | null> {
  const full = path.join(root, rel);
  const stat = await fs.stat(full);
  const key = `${stat.size}:${stat.mtimeMs}`;
  const hit = cache.get(full);
  if (hit?.key === key) return hit.item;
  const result = await execa("qemu-img", ["info", "--output=json", "--force-share", full], { reject: false, timeout: 10_000 });
  let item: SourceItem | null = null;
  if (result.exitCode === 0) {
    const info = JSON.parse(result.stdout) as { format?: string; "virtual-size"?: number; "actual-size"?: number };
    if (info.format === "raw" || info.format === "qcow2") {
      item = { path: rel, name: path.basename(rel), format: info.format, virtualSize: info["virtual-size"] ?? stat.size, actualSize: info["actual-size"] ?? stat.blocks * 512, modifiedAt: stat.mtime.toISOString() };
    }
  }
  cache.set(full, { key, item });
  return item;
}

export async function listSources(root: string): Promise<SourceItem[]> {
  const found: string[] = [];
  async function walk(dir: string, depth: number) {
    const entries = await fs.readdir(path.join(root, dir), { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const rel = dir ? path.join(dir, entry.name) : entry.name;
      if (entry.isDirectory() && depth < 3) await walk(rel, depth + 1);
      else if (entry.isFile()) found.push(rel);
    }
  }
  await walk("", 0);
  const items = await Promise.all(found.sort().map((rel) => describe(root, rel).catch(() => null)));
  return items.filter((i): i is SourceItem => i !== null);
}
