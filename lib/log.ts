// A small structured logger: one line per event, `time level [scope] message key=value`.
// Secrets never reach it: callers pass ids and names, not tokens or passwords.
export type Logger = {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(scope: string): Logger;
};

function format(fields?: Record<string, unknown>): string {
  if (!fields) return "";
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join("");
}

export function createLogger(
  scope = "nbdhub",
  sink: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Logger {
  const write = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    if (process.env.NBDHUB_LOG === "silent") return;
    sink(`${new Date().toISOString()} ${level} [${scope}] ${message}${format(fields)}`);
  };
  return {
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    child: (sub) => createLogger(`${scope}:${sub}`, sink),
  };
}
