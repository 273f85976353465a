// Next.js calls register() once per server process. Only the Node.js server starts the
// runtime; the import stays dynamic so nothing Node-only reaches the edge bundle.
export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    await import("./instrumentation-node");
  }
}
