// Persistent dirty bitmaps on qcow2 sources, through qemu-img: list, add, remove, and check
// that a bitmap can be trusted for an incremental. qemu writes persistent bitmaps back only
// when the image is closed cleanly; a writer that crashed leaves them flagged `in-use`
// (inconsistent), and such a bitmap must never drive a copy. Every run uses `-f qcow2` (never
// probe a format), an absolute path (a name starting with "-" or "proto:" stays a file), a
// minimal environment (runChild) and a timeout. qemu-img does not wait for image locks: a
// source another process holds open for writing fails at once, and becomes SourceBusy.
import "server-only";
import path from "node:path";
import { z } from "zod";
import { runChild } from "@/lib/proc/child";
import { formatBytes } from "@/lib/format";
import { isValidBitmapName } from "./incremental/bitmap-names";
import { lastLine } from "@/lib/proc/last-line";

export const BITMAP_INFO_TIMEOUT_MS = 30_000;
export const BITMAP_CHANGE_TIMEOUT_MS = 60_000;

export type Bitmap = {
  name: string;
  /** Bytes covered by one bit (64 KiB by default). */
  granularity: number;
  /** As qemu-img reports them: `auto` (records writes), `in-use` (inconsistent). */
  flags: string[];
  inUse: boolean;
  recording: boolean;
};

export type BitmapProblem = "missing" | "in-use" | "disabled" | "resized";
export type BitmapCheck =
  { usable: true; granularity: number } | { usable: false; problem: BitmapProblem; reason: string };

/** The source is open for writing in another process, so its bitmaps cannot be changed. */
export class SourceBusy extends Error {
  readonly path: string;
  constructor(file: string, options?: { cause?: unknown }) {
    super(
      `the source ${file} is open for writing in another process (a running VM, or a qemu-nbd without -r), ` +
        "so its dirty bitmaps cannot be read or changed now; stop that process, or back the disk up " +
        "through an NBD export of it",
      options,
    );
    this.name = "SourceBusy";
    this.path = file;
  }
}

/** qemu-img failed (or ran out of time) for another reason; the message carries its last line. */
export class BitmapCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BitmapCommandError";
  }
}

export type BitmapRunOptions = { timeoutMs?: number };

const infoSchema = z.object({
  "virtual-size": z.number(),
  format: z.string(),
  "format-specific": z
    .object({
      data: z
        .object({
          bitmaps: z
            .array(z.object({ name: z.string(), granularity: z.number(), flags: z.array(z.string()) }))
            .optional(),
        })
        .optional(),
    })
    .optional(),
});

function checkName(name: string): void {
  if (!isValidBitmapName(name)) throw new RangeError(`not a valid bitmap name: ${JSON.stringify(name)}`);
}

async function qemuImg(args: string[], file: string, what: string, timeoutMs: number): Promise<string> {
  // runChild: the environment is PATH and a fixed locale only (lib/proc/child-env.ts).
  const result = await runChild("qemu-img", args, { reject: false, timeout: timeoutMs, stdin: "ignore" });
  if (result.timedOut) throw new BitmapCommandError(`${what} on ${file}: qemu-img did not finish in ${timeoutMs} ms`);
  if (result.exitCode === 0) return result.stdout;
  const stderr = result.stderr ?? "";
  // qemu's image locking: `Failed to get "write" lock` / `Failed to get shared "write" lock`.
  if (/Failed to get (shared )?"\w+" lock/.test(stderr)) throw new SourceBusy(file);
  throw new BitmapCommandError(`${what} on ${file} failed: ${lastLine(stderr) || `qemu-img exit ${result.exitCode}`}`);
}

type ImageFacts = { virtualSize: number; bitmaps: Bitmap[] };

async function inspect(file: string, options: BitmapRunOptions): Promise<ImageFacts> {
  const stdout = await qemuImg(
    ["info", "-f", "qcow2", "--force-share", "--output=json", file],
    file,
    "reading the bitmaps",
    options.timeoutMs ?? BITMAP_INFO_TIMEOUT_MS,
  );
  const info = infoSchema.parse(JSON.parse(stdout));
  const bitmaps = (info["format-specific"]?.data?.bitmaps ?? []).map((b) => ({
    name: b.name,
    granularity: b.granularity,
    flags: b.flags,
    inUse: b.flags.includes("in-use"),
    recording: b.flags.includes("auto"),
  }));
  return { virtualSize: info["virtual-size"], bitmaps };
}

/** The persistent bitmaps of a qcow2 image; readable while another process has it open. */
export async function listBitmaps(file: string, options: BitmapRunOptions = {}): Promise<Bitmap[]> {
  return (await inspect(path.resolve(file), options)).bitmaps;
}

/** Adds a persistent, recording bitmap; it tracks every write from now on. */
export async function addBitmap(
  file: string,
  name: string,
  options: BitmapRunOptions & { granularity?: number } = {},
): Promise<void> {
  checkName(name);
  const args = ["bitmap", "--add", "-f", "qcow2"];
  if (options.granularity !== undefined) args.push("-g", String(options.granularity));
  const abs = path.resolve(file);
  await qemuImg([...args, abs, name], abs, `adding bitmap ${name}`, options.timeoutMs ?? BITMAP_CHANGE_TIMEOUT_MS);
}

/** Removes a bitmap (an inconsistent one too). Returns false when there was none of that name. */
export async function removeBitmap(file: string, name: string, options: BitmapRunOptions = {}): Promise<boolean> {
  checkName(name);
  const abs = path.resolve(file);
  const args = ["bitmap", "--remove", "-f", "qcow2", abs, name];
  try {
    await qemuImg(args, abs, `removing bitmap ${name}`, options.timeoutMs ?? BITMAP_CHANGE_TIMEOUT_MS);
    return true;
  } catch (error) {
    // "Dirty bitmap 'x' not found": already gone (a failed run that never added it, or by hand).
    const gone = `Dirty bitmap '${name}' not found`;
    if (error instanceof BitmapCommandError && error.message.endsWith(gone)) return false;
    throw error;
  }
}

/**
 * Can `name` drive a changed-blocks incremental of this source against a previous point of
 * `expectedVirtualSize` bytes? An `in-use` bitmap on an image that a writer holds open right
 * now is SourceBusy (thrown), not a verdict on the bitmap.
 */
export async function checkBitmap(
  file: string,
  name: string,
  expectedVirtualSize: number,
  options: BitmapRunOptions = {},
): Promise<BitmapCheck> {
  checkName(name);
  const abs = path.resolve(file);
  const facts = await inspect(abs, options);
  const bitmap = facts.bitmaps.find((b) => b.name === name);
  if (!bitmap) {
    return {
      usable: false,
      problem: "missing",
      reason: `bitmap ${name} is missing on the source (deleted by hand or the source was replaced)`,
    };
  }
  if (bitmap.inUse) {
    // Without --force-share qemu-img takes a shared lock: it fails while a writer is at work.
    const args = ["info", "-f", "qcow2", "--output=json", abs];
    await qemuImg(args, abs, "checking for a writer", options.timeoutMs ?? BITMAP_INFO_TIMEOUT_MS);
    return {
      usable: false,
      problem: "in-use",
      reason: `bitmap ${name} was left inconsistent (in-use) by a writer that did not close cleanly`,
    };
  }
  if (facts.virtualSize !== expectedVirtualSize) {
    return {
      usable: false,
      problem: "resized",
      reason:
        `the disk was resized since the last backup (${formatBytes(expectedVirtualSize)} then, ` +
        `${formatBytes(facts.virtualSize)} now)`,
    };
  }
  if (!bitmap.recording) {
    return { usable: false, problem: "disabled", reason: `bitmap ${name} is disabled: it did not record writes` };
  }
  return { usable: true, granularity: bitmap.granularity };
}
