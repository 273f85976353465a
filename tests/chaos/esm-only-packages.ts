// Under `node --import tsx`, a .ts file of this (CommonJS) package that imports execa loads it
// with require(): Node 20 then resolves execa's own imports with the "require" conditions, and
// a dependency that exports only an "import" entry (unicorn-magic) cannot be found. This
// fallback resolves such a package by its "import"/"default" entry, which require(esm) then
// loads. It changes nothing for a package that resolves normally (and nothing under Vitest,
// which bundles). Import it first.
import { existsSync, readFileSync } from "node:fs";
import Module from "node:module";
import path from "node:path";

type Resolve = (request: string, parent: unknown, isMain: boolean, options?: unknown) => string;
const mod = Module as unknown as { _resolveFilename: Resolve; __nbdhubEsmOnly?: boolean };

function pickEntry(target: unknown): string | undefined {
  if (typeof target === "string") return target;
  if (target && typeof target === "object") {
    const record = target as Record<string, unknown>;
    for (const key of ["node", "import", "default"]) {
      const found = key in record ? pickEntry(record[key]) : undefined;
      if (found) return found;
    }
  }
  return undefined;
}

function resolveByImportEntry(request: string, parent: unknown): string | undefined {
  const match = /^((?:@[^/]+\/)?[^/]+)$/.exec(request);
  if (!match) return undefined;
  let dir = path.dirname((parent as { filename?: string } | null)?.filename ?? process.cwd());
  for (;;) {
    const pkgFile = path.join(dir, "node_modules", request, "package.json");
    if (existsSync(pkgFile)) {
      const pkg = JSON.parse(readFileSync(pkgFile, "utf8")) as { exports?: unknown };
      const exp =
        pkg.exports && typeof pkg.exports === "object" && "." in (pkg.exports as object)
          ? (pkg.exports as Record<string, unknown>)["."]
          : pkg.exports;
      const entry = pickEntry(exp);
      return entry ? path.join(path.dirname(pkgFile), entry) : undefined;
    }
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

if (!mod.__nbdhubEsmOnly) {
  mod.__nbdhubEsmOnly = true;
  const original = mod._resolveFilename;
  mod._resolveFilename = function (request, parent, isMain, options) {
    try {
      return original.call(this, request, parent, isMain, options);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw error;
      const fallback = resolveByImportEntry(request, parent);
      if (!fallback) throw error;
      return fallback;
    }
  };
}
