// Opening a connection: socket (TCP or Unix), fixed newstyle handshake, optional STARTTLS,
// structured replies, meta contexts, GO. One deadline covers all of it, so a server that
// accepts and then says nothing (qemu-nbd before its image is open, a wrong TLS key) cannot
// hang the caller.
import net from "node:net";
import { ByteReader } from "./byte-reader";
import { NbdClient, type ClientOptions } from "./client";
import { guard } from "./deadline";
import { NbdConnectionError, NbdHandshakeError } from "./errors";
import { OptionSession } from "./handshake";
import type { NbdTlsOptions } from "./tls";
import { parseNbdUri, type NbdAddress } from "@/lib/nbd/uri";
import { messageOf } from "@/lib/messages";

export type ConnectOptions = ClientOptions & {
  /** Required for nbds:// and nbds+unix:// URIs (PSK or X.509); refused for plain ones. */
  tls?: NbdTlsOptions;
  /** Overrides the URI's export name. */
  exportName?: string;
  /** Meta context queries for SET_META_CONTEXT; default ["base:allocation"]; [] for none. */
  metaContexts?: string[];
  /**
   * Enter with NBD_OPT_EXPORT_NAME rather than GO (OptionSession.enterByName): about 40 ms less
   * per TCP connection to qemu-nbd, no block sizes from the server (the protocol's defaults, a
   * 32 MiB maximum), and an unknown export name is a closed connection, not an error reply. For
   * the hub's own exports, whose names it knows.
   */
  enterByName?: boolean;
  /** Ask for structured replies (default true); without them there is no block status. */
  structuredReplies?: boolean;
  /** Deadline for socket, TLS and handshake together; default 30 s. */
  connectTimeoutMs?: number;
  signal?: AbortSignal;
};

export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

/**
 * Bytes one socket read may bring. A plain connection reads into one such buffer for its whole
 * life (`onread`) instead of a fresh Buffer per read: a 64 KiB reply was 64 KiB of garbage,
 * most of the client's garbage collection under an incremental's many small reads. TLS sockets
 * read the usual way (a TLS socket cannot take `onread`, and STARTTLS comes after the greeting).
 */
export const SOCKET_READ_BUFFER = 256 * 1024;

function openSocket(address: NbdAddress): { socket: net.Socket; reader?: ByteReader; connected: Promise<void> } {
  let reader: ByteReader | undefined;
  const onread = address.tls
    ? undefined
    : {
        buffer: Buffer.allocUnsafe(SOCKET_READ_BUFFER),
        callback: (n: number, buf: Uint8Array) => {
          reader?.feed(n, buf as Buffer);
          return true;
        },
      };
  const socket =
    address.transport === "tcp"
      ? net.connect({ host: address.host, port: address.port, onread })
      : net.connect({ path: address.socket, onread });
  if (onread) reader = new ByteReader(socket, { fed: true });
  const where = address.transport === "tcp" ? `${address.host}:${address.port}` : address.socket;
  const connected = new Promise<void>((resolve, reject) => {
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve();
    });
    socket.once("error", (e) => {
      reject(new NbdConnectionError(`cannot connect to ${where}: ${e.message}`, undefined, { cause: e }));
    });
  });
  socket.on("error", () => undefined); // later errors surface through the handshake's reads
  return { socket, reader, connected };
}

export async function connect(target: string | NbdAddress, options: ConnectOptions = {}): Promise<NbdClient> {
  const address = typeof target === "string" ? parseNbdUri(target) : target;
  if (options.tls && !address.tls) throw new NbdHandshakeError("TLS credentials given for a plain URI: use nbds://");
  const exportName = options.exportName ?? address.exportName;
  const { socket, reader, connected } = openSocket(address);
  let session: OptionSession | undefined;
  const work = (async () => {
    await connected;
    if (address.transport === "tcp") socket.setNoDelay(true);
    try {
      session = await OptionSession.open(socket, reader);
      if (address.tls) {
        await session.startTls(options.tls ?? {}, address.transport === "tcp" ? address.host : address.socket);
      }
      if (options.structuredReplies !== false) await session.structuredReply();
      const queries = options.metaContexts ?? ["base:allocation"];
      const contexts =
        session.structuredReplies && queries.length
          ? await session.setMetaContexts(exportName, queries)
          : new Map<string, number>();
      const info = options.enterByName
        ? await session.enterByName(exportName, contexts)
        : await session.go(exportName, contexts);
      return new NbdClient(session.socket, session.byteReader, info, options);
    } catch (error) {
      if (error instanceof NbdHandshakeError) throw error;
      const why = messageOf(error);
      throw new NbdHandshakeError(why, { cause: error });
    }
  })();
  const destroy = () => {
    session?.socket.destroy();
    socket.destroy();
  };
  work.catch(destroy);
  return guard(work, {
    timeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    signal: options.signal,
    what: `connect to ${typeof target === "string" ? target : exportName}`,
    onGiveUp: destroy,
    dispose: (late) => late.close(),
  });
}

/** The exports a server lists (NBD_OPT_LIST), then NBD_OPT_ABORT. */
export async function listExports(
  target: string | NbdAddress,
  options: Pick<ConnectOptions, "tls" | "connectTimeoutMs" | "signal"> = {},
): Promise<{ name: string; description: string }[]> {
  return optionOnly(target, options, (s) => s.list());
}

/** The meta contexts the server offers for an export (NBD_OPT_LIST_META_CONTEXT), then abort. */
export async function listMetaContexts(
  target: string | NbdAddress,
  queries: string[] = [],
  options: Pick<ConnectOptions, "tls" | "connectTimeoutMs" | "signal" | "exportName"> = {},
): Promise<string[]> {
  const address = typeof target === "string" ? parseNbdUri(target) : target;
  return optionOnly(address, options, async (s) => {
    if (!(await s.structuredReply())) {
      throw new NbdHandshakeError("the server has no structured replies, so no meta contexts");
    }
    return s.listMetaContexts(options.exportName ?? address.exportName, queries);
  });
}

async function optionOnly<T>(
  target: string | NbdAddress,
  options: Pick<ConnectOptions, "tls" | "connectTimeoutMs" | "signal">,
  run: (session: OptionSession) => Promise<T>,
): Promise<T> {
  const address = typeof target === "string" ? parseNbdUri(target) : target;
  if (options.tls && !address.tls) throw new NbdHandshakeError("TLS credentials given for a plain URI: use nbds://");
  const { socket, reader, connected } = openSocket(address);
  const work = (async () => {
    try {
      await connected;
      const session = await OptionSession.open(socket, reader);
      if (address.tls) {
        await session.startTls(options.tls ?? {}, address.transport === "tcp" ? address.host : address.socket);
      }
      const result = await run(session);
      await session.abort();
      return result;
    } finally {
      socket.destroy();
    }
  })();
  return guard(work, {
    timeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    signal: options.signal,
    what: "option negotiation",
    onGiveUp: () => socket.destroy(),
  });
}
