// Error classes a caller can tell apart with instanceof: the server refused a command
// (NbdError, with the protocol's error name), the connection is gone, an option was refused
// during the handshake, a wait ran past its deadline.
import { errnoName } from "./protocol";

export type CommandContext = { command: string; offset?: number; length?: number };

function where(ctx: CommandContext): string {
  if (ctx.offset === undefined) return ctx.command;
  return `${ctx.command} at offset ${ctx.offset}${ctx.length === undefined ? "" : ` length ${ctx.length}`}`;
}

/** The server answered a command with an error (simple reply error or structured error chunk). */
export class NbdError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly command: string;
  readonly offset?: number;
  readonly length?: number;
  readonly serverMessage?: string;
  /** For NBD_REPLY_TYPE_ERROR_OFFSET: where in the request the server failed. */
  readonly errorOffset?: number;

  constructor(errno: number, ctx: CommandContext, serverMessage?: string, errorOffset?: number) {
    const code = errnoName(errno);
    const detail = serverMessage ? `: ${serverMessage}` : "";
    super(`NBD ${where(ctx)} failed with ${code}${detail}`);
    this.name = "NbdError";
    this.code = code;
    this.errno = errno;
    this.command = ctx.command;
    this.offset = ctx.offset;
    this.length = ctx.length;
    this.serverMessage = serverMessage;
    this.errorOffset = errorOffset;
  }
}

/** The connection closed, broke, or the server broke the protocol; every pending request gets one. */
export class NbdConnectionError extends Error {
  readonly command?: string;
  constructor(message: string, ctx?: CommandContext, options?: { cause?: unknown }) {
    super(ctx ? `NBD ${where(ctx)}: ${message}` : `NBD: ${message}`, options);
    this.name = "NbdConnectionError";
    this.command = ctx?.command;
  }
}

/** The handshake could not complete: refused option, oldstyle server, unknown export, TLS failure. */
export class NbdHandshakeError extends Error {
  readonly option?: string;
  readonly reply?: string;
  constructor(message: string, details: { option?: string; reply?: string; cause?: unknown } = {}) {
    super(`NBD handshake: ${message}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "NbdHandshakeError";
    this.option = details.option;
    this.reply = details.reply;
  }
}

export class NbdTimeoutError extends Error {
  readonly command?: string;
  constructor(what: string, timeoutMs: number, ctx?: CommandContext) {
    super(`NBD ${ctx ? `${where(ctx)}: ` : ""}${what} timed out after ${timeoutMs} ms`);
    this.name = "NbdTimeoutError";
    this.command = ctx?.command;
  }
}

/** What an aborted wait rejects with: the signal's own reason when it has one. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The operation was aborted", "AbortError");
}
