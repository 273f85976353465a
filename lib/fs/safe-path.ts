// Caller-given paths must resolve, after following links, inside a configured root
// (docs/api.md: anything else is 422 path_not_allowed). Relative paths are taken from the root.
import "server-only";
import { promises as fs } from "node:fs";
import path from "node:path";
import { invalid } from "@/lib/errors";

function inside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

export type ResolvedPath = { path: string; exists: boolean };

/**
 * Resolve `given` against `root`, following symlinks of every existing part, and refuse
 * anything that ends up outside. `field` names the request field in the 422's details.
 */
export async function resolveInsideRoot(
  root: string,
  given: string,
  field: string,
  { mustExist = true } = {},
): Promise<ResolvedPath> {
  if (typeof given !== "string" || given.length === 0 || given.includes("\0")) {
    throw invalid("path_not_allowed", `${field} must be a path inside ${root}`, { [field]: `a path inside ${root}` });
  }
  const realRoot = await fs.realpath(root);
  const absolute = path.resolve(realRoot, given);
  let real: string;
  let exists = true;
  try {
    real = await fs.realpath(absolute);
  } catch {
    exists = false;
    // Not there (yet): resolve the deepest existing parent, so a link in the middle still counts.
    let parent = path.dirname(absolute);
    const tail = [path.basename(absolute)];
    for (;;) {
      try {
        real = path.join(await fs.realpath(parent), ...tail);
        break;
      } catch {
        tail.unshift(path.basename(parent));
        const next = path.dirname(parent);
        if (next === parent) {
          real = absolute;
          break;
        }
        parent = next;
      }
    }
  }
  if (!inside(realRoot, real) && !inside(path.resolve(root), real)) {
    throw invalid("path_not_allowed", `${field} is outside the allowed directory ${root}`, {
      [field]: `a path inside ${root}`,
    });
  }
  if (mustExist && !exists) {
    throw invalid("file_not_found", `${field}: ${given} does not exist`, { [field]: "an existing file" });
  }
  return { path: real, exists };
}
