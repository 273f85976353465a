// Anything thrown, as words for a person or a log line. Pure (no server-only): the console and
// the server both use it. Only an Error's message is taken, never its stack.
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The first line of messageOf: drivers (Prisma, pg) put a multi-line report in one message. */
export function firstLineOf(error: unknown): string {
  return messageOf(error).split("\n")[0];
}
