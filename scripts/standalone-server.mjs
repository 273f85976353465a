// The start command of the standalone folder (`npm run build:standalone`, docs/deploy.md):
// `node scripts/standalone-server.mjs` in that folder, never in the source tree. It runs Next's
// generated server.js in this same process (a service manager's SIGTERM reaches the server
// itself) with what `npm start` gives `next start`: HOST and PORT (server.js reads HOSTNAME and
// defaults to 0.0.0.0; nbdhub listens on 127.0.0.1 unless told), the keep-alive timeout, and
// the app's own SIGTERM/SIGINT handling (exports, then the embedded Postgres, then exit).
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { KEEP_ALIVE_MS } from "./next-start.mjs";

const folder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const server = path.join(folder, "server.js");
if (!existsSync(server)) {
  process.stderr.write(`[nbdhub] ${server} is missing: run this file from a folder made by npm run build:standalone\n`);
  process.exit(1);
}

const host = process.env.HOST || "127.0.0.1";
process.env.HOST = host;
process.env.HOSTNAME = host;
process.env.PORT ||= "3000";
process.env.KEEP_ALIVE_TIMEOUT = String(KEEP_ALIVE_MS);
process.env.NEXT_MANUAL_SIG_HANDLE = "true";
process.env.NEXT_TELEMETRY_DISABLED = "1";

// server.js changes the working directory to the folder: the migrations and the process helper
// are found from there (lib/runtime/runtime.ts, lib/proc/child.ts), as from the project root.
await import(pathToFileURL(server).href);
