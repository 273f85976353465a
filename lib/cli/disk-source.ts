// What `backup --disk` names: a local disk file (raw or qcow2, told apart by the header's magic)
// served through a private read-only qemu-nbd, or an nbd:// / nbd+unix:// source read directly.
// A qcow2 that names a backing file or an external data file is refused: either could pull any
// file of this machine into the backup.
import { promises as fs } from "node:fs";
import { BASE_ALLOCATION, dirtyBitmapContext, openPool, type NbdPool } from "@/lib/nbd/client";
import { isNbdUri, parseNbdUri } from "@/lib/nbd/uri";
import { messageOf } from "@/lib/messages";
import { startLocalExport, type LocalExport } from "./local-export";
import { CliError, EXIT, usageError } from "./exit-codes";

const QCOW2_MAGIC = 0x514649fb;
/** qcow2 v3 incompatible feature bit 2: the guest data lives in an external data file. */
const QCOW2_EXTERNAL_DATA = 1n << 2n;

export type HeaderVerdict = { format: "raw" } | { format: "qcow2"; refusal: string | null };

/** Read a disk file's first bytes: qcow2 by its magic, else raw; why a qcow2 is refused. */
export function inspectHeader(header: Buffer): HeaderVerdict {
  if (header.length < 4 || header.readUInt32BE(0) !== QCOW2_MAGIC) return { format: "raw" };
  if (header.length < 20) return { format: "qcow2", refusal: "its qcow2 header is cut short" };
  const version = header.readUInt32BE(4);
  if (header.readBigUInt64BE(8) !== 0n && header.readUInt32BE(16) !== 0) {
    return {
      format: "qcow2",
      refusal: "it names a backing file (back up the whole chain's guest view from an NBD export instead)",
    };
  }
  if (version >= 3) {
    if (header.length < 80) return { format: "qcow2", refusal: "its qcow2 header is cut short" };
    if ((header.readBigUInt64BE(72) & QCOW2_EXTERNAL_DATA) !== 0n) {
      return { format: "qcow2", refusal: "it names an external data file" };
    }
  }
  return { format: "qcow2", refusal: null };
}

export type OpenedSource = {
  spec: string;
  /** "raw file", "qcow2 file", "NBD source". */
  kind: string;
  device: NbdPool;
  size: number;
  close(): Promise<void>;
};

const CONNECTIONS = 4;

async function connectSource(uri: string, bitmap: string | undefined, what: string): Promise<NbdPool> {
  const metaContexts = [BASE_ALLOCATION, ...(bitmap ? [dirtyBitmapContext(bitmap)] : [])];
  const device = await openPool(uri, { connections: CONNECTIONS, metaContexts });
  if (bitmap && !device.metaContexts.has(dirtyBitmapContext(bitmap))) {
    await device.disconnect().catch(() => undefined);
    throw new CliError(`${what} offers no dirty bitmap ${bitmap} (qemu:dirty-bitmap:${bitmap})`, EXIT.usage);
  }
  return device;
}

/** Open one --disk for reading; a local refusal is a CliError with exit code 2. */
export async function openSource(spec: string, bitmap: string | undefined): Promise<OpenedSource> {
  if (isNbdUri(spec)) {
    let address;
    try {
      address = parseNbdUri(spec);
    } catch (error) {
      throw usageError(`--disk ${spec}: ${messageOf(error)}`);
    }
    if (address.tls) {
      throw usageError(
        `--disk ${spec}: nbdhub-client has no TLS credentials for a source; read it as nbd:// or nbd+unix://`,
      );
    }
    const device = await connectSource(spec, bitmap, `the NBD source ${spec}`).catch((error: unknown) => {
      if (error instanceof CliError) throw error;
      throw new CliError(`--disk ${spec}: cannot read the NBD source: ${messageOf(error)}`, EXIT.failed);
    });
    return { spec, kind: "NBD source", device, size: device.size, close: () => device.disconnect() };
  }
  let header: Buffer;
  try {
    const handle = await fs.open(spec, "r");
    try {
      const stat = await handle.stat();
      if (!stat.isFile() && !stat.isBlockDevice()) throw new Error("not a file or block device");
      header = Buffer.alloc(512);
      const { bytesRead } = await handle.read(header, 0, 512, 0);
      header = header.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw usageError(`--disk ${spec}: cannot read it: ${messageOf(error)}`);
  }
  const verdict = inspectHeader(header);
  if (verdict.format === "qcow2" && verdict.refusal) throw usageError(`--disk ${spec}: refused, ${verdict.refusal}`);
  if (bitmap && verdict.format === "raw") {
    throw usageError(
      `--disk ${spec}: a raw file has no dirty bitmap ${bitmap}; --incremental needs qcow2 or NBD sources`,
    );
  }
  let reader: LocalExport;
  try {
    reader = await startLocalExport({ file: spec, format: verdict.format, readOnly: true, bitmap });
  } catch (error) {
    throw usageError(`--disk ${spec}: ${messageOf(error)}`);
  }
  try {
    const device = await connectSource(reader.uri, bitmap, `${spec}`);
    return {
      spec,
      kind: `${verdict.format} file`,
      device,
      size: device.size,
      close: async () => {
        await device.disconnect().catch(() => device.close());
        await reader.stop();
      },
    };
  } catch (error) {
    await reader.stop();
    throw error;
  }
}
