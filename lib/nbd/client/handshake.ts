// Fixed newstyle negotiation: greeting, client flags, then options until NBD_OPT_GO (enter
// transmission) or NBD_OPT_ABORT (list-only sessions). Oldstyle and plain newstyle servers are
// refused: neither can negotiate TLS, structured replies or meta contexts.
import type { Duplex } from "node:stream";
import type { Socket } from "node:net";
import { ByteReader } from "./byte-reader";
import { NbdHandshakeError } from "./errors";
import {
  NBD_FLAG_C_FIXED_NEWSTYLE,
  NBD_FLAG_C_NO_ZEROES,
  NBD_FLAG_FIXED_NEWSTYLE,
  NBD_FLAG_NO_ZEROES,
  NBD_INFO,
  NBD_OPT,
  NBD_REP,
  OPTION_REPLY_HEADER_SIZE,
  decodeGreeting,
  decodeInfoReply,
  decodeMetaContextReply,
  decodeOptionReplyHeader,
  decodeServerReply,
  encodeGoData,
  encodeMetaContextData,
  encodeOption,
  isOptionError,
  optionName,
  replyName,
} from "./protocol";
import { startTls, type NbdTlsOptions } from "./tls";

/** Option replies are small; a larger one means a confused or hostile server. */
const MAX_OPTION_REPLY = 16 * 1024 * 1024;
/** The protocol's default when the server states no maximum (proto.md, block size constraints). */
export const DEFAULT_MAX_BLOCK_SIZE = 32 * 1024 * 1024;

export type BlockSize = { minimum: number; preferred: number; maximum: number };
export type ExportInfo = {
  exportName: string;
  size: number;
  transmissionFlags: number;
  blockSize: BlockSize;
  /** Whether the server sent NBD_INFO_BLOCK_SIZE (else `blockSize` holds protocol defaults). */
  blockSizeAdvertised: boolean;
  structuredReplies: boolean;
  /** Negotiated meta contexts, name → id. */
  metaContexts: Map<string, number>;
};

type OptionReply = { reply: number; data: Buffer };

/** One connection in the option phase. */
export class OptionSession {
  private reader: ByteReader;
  private stream: Duplex;
  private structured = false;

  private constructor(
    stream: Duplex,
    reader: ByteReader,
    /** The server leaves out the 124 zero bytes after NBD_OPT_EXPORT_NAME's answer. */
    private readonly noZeroes: boolean,
  ) {
    this.stream = stream;
    this.reader = reader;
  }

  get socket(): Duplex {
    return this.stream;
  }
  get byteReader(): ByteReader {
    return this.reader;
  }
  get structuredReplies(): boolean {
    return this.structured;
  }

  /** Reads the greeting and sends client flags; `reader` when the socket already has one (`onread`). */
  static async open(socket: Socket, reader = new ByteReader(socket)): Promise<OptionSession> {
    const kind = decodeGreeting(await reader.read(16));
    if (kind === "oldstyle") {
      throw new NbdHandshakeError("the server speaks the oldstyle protocol; only fixed newstyle is supported");
    }
    const handshakeFlags = (await reader.read(2)).readUInt16BE(0);
    if (!(handshakeFlags & NBD_FLAG_FIXED_NEWSTYLE)) {
      throw new NbdHandshakeError("the server speaks newstyle without NBD_FLAG_FIXED_NEWSTYLE; not supported");
    }
    // NO_ZEROES only matters for NBD_OPT_EXPORT_NAME (enterByName).
    const clientFlags = Buffer.alloc(4);
    const noZeroes = handshakeFlags & NBD_FLAG_NO_ZEROES ? NBD_FLAG_C_NO_ZEROES : 0;
    clientFlags.writeUInt32BE(NBD_FLAG_C_FIXED_NEWSTYLE | noZeroes);
    socket.write(clientFlags);
    return new OptionSession(socket, reader, noZeroes !== 0);
  }

  /** Sends one option and collects its replies up to the final one (ACK or an error). */
  async option(option: number, data?: Buffer): Promise<{ replies: OptionReply[]; final: OptionReply }> {
    this.stream.write(encodeOption(option, data));
    const replies: OptionReply[] = [];
    for (;;) {
      const header = decodeOptionReplyHeader(await this.reader.read(OPTION_REPLY_HEADER_SIZE));
      if (header.option !== option) {
        throw new NbdHandshakeError(`reply for ${optionName(header.option)} while waiting for ${optionName(option)}`);
      }
      if (header.length > MAX_OPTION_REPLY) throw new NbdHandshakeError(`option reply of ${header.length} bytes`);
      const reply = { reply: header.reply, data: await this.reader.read(header.length) };
      if (reply.reply === NBD_REP.ACK || isOptionError(reply.reply)) return { replies, final: reply };
      replies.push(reply);
    }
  }

  private refused(option: number, final: OptionReply, what: string): NbdHandshakeError {
    const message = final.data.length ? `: ${final.data.toString("utf8")}` : "";
    const hint =
      final.reply === NBD_REP.ERR_TLS_REQD
        ? " (the server requires TLS: use an nbds:// URI)"
        : final.reply === NBD_REP.ERR_UNKNOWN
          ? " (no such export)"
          : "";
    return new NbdHandshakeError(`${what} refused with ${replyName(final.reply)}${message}${hint}`, {
      option: optionName(option),
      reply: replyName(final.reply),
    });
  }

  async startTls(options: NbdTlsOptions, host: string): Promise<void> {
    const { final } = await this.option(NBD_OPT.STARTTLS);
    if (final.reply !== NBD_REP.ACK) throw this.refused(NBD_OPT.STARTTLS, final, "STARTTLS");
    this.reader.detach();
    const secure = await startTls(this.stream as Socket, options, host);
    this.stream = secure;
    this.reader = new ByteReader(secure);
  }

  /** True when the server agreed; false when it does not support them (then only simple replies). */
  async structuredReply(): Promise<boolean> {
    const { final } = await this.option(NBD_OPT.STRUCTURED_REPLY);
    if (final.reply === NBD_REP.ACK) return (this.structured = true);
    if (final.reply === NBD_REP.ERR_UNSUP) return false;
    throw this.refused(NBD_OPT.STRUCTURED_REPLY, final, "STRUCTURED_REPLY");
  }

  private async metaContextOption(option: number, exportName: string, queries: string[]) {
    if (!this.structured) {
      throw new NbdHandshakeError("meta contexts need structured replies, which were not negotiated");
    }
    const { replies, final } = await this.option(option, encodeMetaContextData(exportName, queries));
    if (final.reply !== NBD_REP.ACK) throw this.refused(option, final, optionName(option));
    return replies.filter((r) => r.reply === NBD_REP.META_CONTEXT).map((r) => decodeMetaContextReply(r.data));
  }

  /** Selects contexts for the coming GO; a query that matches nothing simply yields no entry. */
  async setMetaContexts(exportName: string, queries: string[]): Promise<Map<string, number>> {
    const found = await this.metaContextOption(NBD_OPT.SET_META_CONTEXT, exportName, queries);
    return new Map(found.map((c) => [c.name, c.id]));
  }

  async listMetaContexts(exportName: string, queries: string[]): Promise<string[]> {
    return (await this.metaContextOption(NBD_OPT.LIST_META_CONTEXT, exportName, queries)).map((c) => c.name);
  }

  async list(): Promise<{ name: string; description: string }[]> {
    const { replies, final } = await this.option(NBD_OPT.LIST);
    if (final.reply !== NBD_REP.ACK) throw this.refused(NBD_OPT.LIST, final, "LIST");
    return replies.filter((r) => r.reply === NBD_REP.SERVER).map((r) => decodeServerReply(r.data));
  }

  /** Ends the option phase without an export; the server may close without replying. */
  async abort(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1000);
      this.stream.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.stream.write(encodeOption(NBD_OPT.ABORT));
    this.stream.end();
    await closed;
  }

  /**
   * Enters transmission with NBD_OPT_EXPORT_NAME instead of GO: the server answers with size and
   * flags in one write and nothing else (no block sizes: the protocol's defaults apply). Over TCP
   * it saves qemu-nbd's Nagle wait: each of GO's info replies is a header and a payload written
   * apart, and without TCP_NODELAY on qemu's side the payload waits for our delayed ACK (about
   * 40 ms a connection). The price: a name the server does not know closes the connection
   * instead of answering an error.
   */
  async enterByName(exportName: string, metaContexts: Map<string, number>): Promise<ExportInfo> {
    this.stream.write(encodeOption(NBD_OPT.EXPORT_NAME, Buffer.from(exportName, "utf8")));
    let answer: Buffer;
    try {
      answer = await this.reader.read(this.noZeroes ? 10 : 134);
    } catch (error) {
      throw new NbdHandshakeError(
        `the server closed the connection on NBD_OPT_EXPORT_NAME for export ${JSON.stringify(exportName)} (no such export?)`,
        { option: "EXPORT_NAME", cause: error },
      );
    }
    const size = answer.readBigUInt64BE(0);
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new NbdHandshakeError(`export size ${size} too large`);
    return {
      exportName,
      size: Number(size),
      transmissionFlags: answer.readUInt16BE(8),
      blockSize: normaliseBlockSize(),
      blockSizeAdvertised: false,
      structuredReplies: this.structured,
      metaContexts,
    };
  }

  async go(exportName: string, metaContexts: Map<string, number>): Promise<ExportInfo> {
    const data = encodeGoData(exportName, [NBD_INFO.EXPORT, NBD_INFO.BLOCK_SIZE]);
    const { replies, final } = await this.option(NBD_OPT.GO, data);
    if (final.reply !== NBD_REP.ACK) {
      throw this.refused(NBD_OPT.GO, final, `GO for export ${JSON.stringify(exportName)}`);
    }
    let size: number | undefined;
    let transmissionFlags = 0;
    let blockSize: BlockSize | undefined;
    for (const r of replies) {
      if (r.reply !== NBD_REP.INFO) continue;
      const info = decodeInfoReply(r.data);
      if (info.type === "export") {
        if (info.size > BigInt(Number.MAX_SAFE_INTEGER)) {
          throw new NbdHandshakeError(`export size ${info.size} too large`);
        }
        size = Number(info.size);
        transmissionFlags = info.transmissionFlags;
      } else if (info.type === "block-size") {
        blockSize = info;
      }
    }
    if (size === undefined) throw new NbdHandshakeError("GO succeeded without NBD_INFO_EXPORT", { option: "GO" });
    return {
      exportName,
      size,
      transmissionFlags,
      blockSize: normaliseBlockSize(blockSize),
      blockSizeAdvertised: blockSize !== undefined,
      structuredReplies: this.structured,
      metaContexts,
    };
  }
}

/** Sane limits from what the server sent (or did not): the maximum is what the splitter obeys. */
export function normaliseBlockSize(given?: { minimum: number; preferred: number; maximum: number }): BlockSize {
  const minimum = given && given.minimum > 0 ? given.minimum : 1;
  const preferred = given && given.preferred >= minimum ? given.preferred : Math.max(minimum, 4096);
  const maximum = given && given.maximum >= minimum ? given.maximum : Math.max(minimum, DEFAULT_MAX_BLOCK_SIZE);
  return { minimum, preferred, maximum };
}
