// The routes in the code: every app/api/v1/**/route.ts (but the catch-all) and the HTTP methods
// it exports, keyed by its folder path ("/backups/[id]/cancel"). Read from the files themselves,
// for the tests that check the tables written from them (lib/api/route-methods.ts, the OpenAPI
// route table lib/api/contract.ts).
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";

export const API_DIR = path.resolve(__dirname, "../../app/api/v1");
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

export function routeFiles(dir = API_DIR, prefix = ""): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) Object.assign(out, routeFiles(path.join(dir, entry.name), `${prefix}/${entry.name}`));
    else if (entry.name === "route.ts" && !prefix.includes("[...")) {
      const text = readFileSync(path.join(dir, entry.name), "utf8");
      out[prefix] = METHODS.filter((m) =>
        new RegExp(`export\\s+(const|async\\s+function|function)\\s+${m}\\b`).test(text),
      );
    }
  }
  return out;
}
