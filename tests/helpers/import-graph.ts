// Reads the project's import graph with the TypeScript compiler's parser (no type check): every
// static import and export-from, dynamic import() and require() of the .ts/.tsx files under
// the given roots, resolved to files of the project. Packages (react, zod, …) are left out.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

export type Edge = { to: string; /** Erased at build time (`import type`, or only types named). */ typeOnly: boolean };

export type SourceModule = {
  /** Project-relative path with "/" separators, e.g. "lib/backup/runner.ts". */
  file: string;
  useClient: boolean;
  serverOnly: boolean;
  imports: Edge[];
};

const SKIP_DIRS = new Set(["node_modules", "generated", ".next"]);
const EXTENSIONS = [".ts", ".tsx", "/index.ts", "/index.tsx"];

export function listSources(root: string, entries: string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const full = path.join(root, rel);
    if (!existsSync(full)) return;
    if (statSync(full).isDirectory()) {
      for (const name of readdirSync(full)) if (!SKIP_DIRS.has(name)) walk(path.posix.join(rel, name));
    } else if (/\.tsx?$/.test(rel) && !rel.endsWith(".d.ts")) {
      out.push(rel);
    }
  };
  for (const entry of entries) walk(entry);
  return out.sort();
}

function resolveSpecifier(root: string, from: string, spec: string): string | null {
  let base: string;
  if (spec.startsWith("@/")) base = spec.slice(2);
  else if (spec.startsWith(".")) base = path.posix.join(path.posix.dirname(from), spec);
  else return null;
  if (/\.tsx?$/.test(base) && existsSync(path.join(root, base))) return base;
  for (const ext of EXTENSIONS) if (existsSync(path.join(root, base + ext))) return base + ext;
  // A folder or file of the project that is not TypeScript source (generated code, JSON…).
  return base;
}

/** True when every name the declaration brings in is a type (`import type`, `import { type A }`). */
function importIsTypeOnly(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (!clause) return false; // `import "x"` runs the module
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  if (!bindings || ts.isNamespaceImport(bindings)) return false;
  return bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
}

function exportIsTypeOnly(node: ts.ExportDeclaration): boolean {
  if (node.isTypeOnly) return true;
  const clause = node.exportClause;
  if (!clause || !ts.isNamedExports(clause)) return false;
  return clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly);
}

function firstStatementIsUseClient(source: ts.SourceFile): boolean {
  const first = source.statements[0];
  if (!first || !ts.isExpressionStatement(first)) return false;
  return ts.isStringLiteral(first.expression) && first.expression.text === "use client";
}

export function parseModule(root: string, file: string): SourceModule {
  const text = readFileSync(path.join(root, file), "utf8");
  const kind = file.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
  const imports: Edge[] = [];
  let serverOnly = false;
  const add = (spec: string, typeOnly: boolean) => {
    if (spec === "server-only") serverOnly = true;
    const to = resolveSpecifier(root, file, spec);
    if (to) imports.push({ to, typeOnly });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, importIsTypeOnly(node));
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, exportIsTypeOnly(node));
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteralLike(node.arguments[0])) {
      const callee = node.expression;
      const dynamic = callee.kind === ts.SyntaxKind.ImportKeyword;
      const required = ts.isIdentifier(callee) && callee.text === "require";
      if (dynamic || required) add(node.arguments[0].text, false);
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg) && ts.isStringLiteral(arg.literal)) add(arg.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { file, useClient: firstStatementIsUseClient(source), serverOnly, imports };
}

export function readGraph(root: string, entries: string[]): Map<string, SourceModule> {
  return new Map(listSources(root, entries).map((file) => [file, parseModule(root, file)]));
}

/** "lib/backup/runner.ts" → "lib/backup"; "lib/log.ts" → "lib/log"; null outside lib/. */
export function libFolderOf(file: string): string | null {
  const parts = file.split("/");
  if (parts[0] !== "lib" || parts.length < 2) return null;
  return parts.length === 2 ? `lib/${parts[1].replace(/\.tsx?$/, "")}` : `lib/${parts[1]}`;
}

/** Every cycle of the folder graph, each as its list of folders (strongly connected components). */
export function folderCycles(graph: Map<string, Set<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const strongConnect = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        strongConnect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
        onStack.delete(w);
        component.push(w);
        if (w === v) break;
      }
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) strongConnect(v);
  return cycles;
}
