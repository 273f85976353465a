// The disk images under the sources root, for the New backup form (GET /sources). The format
// comes from the name (source-format.ts), as for a backup: a raw image is described from its
// stat alone, a qcow2 by `qemu-img info -f qcow2` under the server-wide limit, remembered while
// the file is unchanged (inspections.ts). At most MAX_LISTED images, in path order.
import "server-only";
import { promises as fs, type Dirent } from "node:fs";
import path from "node:path";
import { mapLimited } from "@/lib/proc/limiter";
import { qcow2Info, qcow2Refusal } from "./inspections";
import { formatFromName, type SourceFormat } from "./source-format";

export type SourceItem = {
  path: string;
  name: string;
  format: SourceFormat;
  virtualSize: number;
  actualSize: number;
  modifiedAt: string;
  /** Why this image cannot be backed up, or null. */
  problem: string | null;
};

export type SourceList = { items: SourceItem[]; truncated: boolean };

const MAX_LISTED = 500;
/** Directory entries looked at, at most: a huge tree cannot make one request walk for ever. */
const MAX_SCANNED = 20_000;
const MAX_DEPTH = 3;
/** Images of one listing inspected at once (each also takes a slot of the server-wide limit). */
const LIST_WIDTH = 2;

async function describe(root: string, rel: string): Promise<SourceItem | null> {
  const full = path.join(root, rel);
  const stat = await fs.stat(full).catch(() => null);
  if (!stat?.isFile()) return null; // gone since the walk
  const format = formatFromName(rel);
  const base = { path: rel, name: path.basename(rel), format, modifiedAt: stat.mtime.toISOString() };
  if (format === "raw") return { ...base, virtualSize: stat.size, actualSize: stat.blocks * 512, problem: null };
  const info = await qcow2Info(full, stat);
  if (!info.ok) {
    const problem = info.reason === "not_qcow2" ? "not a qcow2 image" : "qemu-img could not read it";
    return { ...base, virtualSize: stat.size, actualSize: stat.blocks * 512, problem };
  }
  const actualSize = info.actualSize ?? stat.blocks * 512;
  return { ...base, virtualSize: info.virtualSize, actualSize, problem: qcow2Refusal(info) };
}

export async function listSources(root: string): Promise<SourceList> {
  const found: string[] = [];
  let scanned = 0;
  let cut = false;
  async function walk(dir: string, depth: number) {
    const entries: Dirent[] = await fs.readdir(path.join(root, dir), { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (scanned >= MAX_SCANNED) {
        cut = true;
        return;
      }
      scanned += 1;
      if (entry.name.startsWith(".")) continue;
      const rel = dir ? path.join(dir, entry.name) : entry.name;
      if (entry.isDirectory() && depth < MAX_DEPTH) await walk(rel, depth + 1);
      else if (entry.isFile()) found.push(rel);
    }
  }
  await walk("", 0);
  found.sort();
  const shown = found.slice(0, MAX_LISTED);
  const items = await mapLimited(shown, LIST_WIDTH, (rel) => describe(root, rel));
  return { items: items.filter((i): i is SourceItem => i !== null), truncated: cut || found.length > MAX_LISTED };
}
