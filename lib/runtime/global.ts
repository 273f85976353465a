// The runtime singleton lives on globalThis under a Symbol.for key: Next.js loads
// instrumentation and route handlers as separate module graphs, so a module-level
// variable would not be shared between them (STYLE.md).
import "server-only";
import type { Runtime } from "./runtime";

const KEY = Symbol.for("nbdhub.runtime");

export type RuntimeHolder = {
  promise?: Promise<Runtime>;
  runtime?: Runtime;
  error?: unknown;
  stopping?: Promise<void>;
};

export function runtimeHolder(): RuntimeHolder {
  const g = globalThis as typeof globalThis & { [KEY]?: RuntimeHolder };
  g[KEY] ??= {};
  return g[KEY];
}
