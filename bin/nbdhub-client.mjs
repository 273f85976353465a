#!/usr/bin/env node
// nbdhub-client: the CLI for remote backup clients (docs/cli.md). The CLI is TypeScript in
// lib/cli/; tsx (a dependency) compiles it as it loads, with this package's tsconfig.json so the
// "@/…" imports resolve wherever the package is installed and whatever the working directory
// (docs/decisions/020-cli-runs-on-tsx.md).
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// This package is CommonJS (no "type": "module"), so lib/cli/*.ts load through tsx's CommonJS
// hook, which reads its tsconfig from the environment when it is first imported.
process.env.TSX_TSCONFIG_PATH = path.join(root, "tsconfig.json");
const { register: registerCjs } = await import("tsx/cjs/api");
const { register } = await import("tsx/esm/api");
registerCjs();
register({ tsconfig: process.env.TSX_TSCONFIG_PATH });
const loaded = await import(path.join(root, "lib/cli/main.ts"));
// As CommonJS seen from ESM, the exports may sit on `default`.
const main = loaded.main ?? loaded.default.main;
// exit() at once: a socket or timer left behind must not keep a finished command alive.
process.exit(await main(process.argv.slice(2)));
