// The process helper (docs/decisions/022-spawner.md): a small long-lived process, forked once by
// the server, that starts every child for it. Node 20 forks the whole calling process to start
// a child; forking this one (tens of MiB) instead of the server (hundreds) keeps each spawn from
// stalling the server's event loop. Requests and events travel over the IPC channel
// (lib/proc/child.ts is the other end); when that channel closes — the server exited or died —
// the helper exits too: children started with cleanup die with it (execa kills them on exit),
// qemu-nbd (cleanup: false, its own process group) stays for the reconciler to adopt.
import { createChildRunner } from "./spawner-core.mjs";

const send = (event) => {
  // A closed channel means the server is gone; the disconnect handler exits.
  if (process.connected) process.send(event);
};
const runner = createChildRunner(send);

process.on("message", (request) => {
  if (request?.t === "spawn") runner.spawn(request);
  else if (request?.t === "kill") runner.kill(request);
});
process.on("disconnect", () => process.exit(0));
// SIGINT/SIGTERM on the terminal's process group reach the helper too: the server decides
// when children stop, and the helper leaves with the server's channel, not before.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => {});
send({ t: "ready" });
