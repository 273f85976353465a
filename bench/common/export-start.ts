// One export start and its stop, as figures 2 and 9 time them: through the API
// (POST /nbd/qemu-nbd/start → 201, which the server sends once qemu-nbd's pid file is written;
// stop; release the port the start allocated for the job), and by hand (spawn qemu-nbd → pid
// file; SIGTERM → exit). `onReady` runs between ready and stop, outside both timings.
import { startBareExport, type BareExport, type BareOptions } from "./bare";
import type { StartedExport, StartExportRequest } from "../../lib/nbd/types";
import type { BenchServer } from "./server";

export type ApiStartBody = Pick<StartExportRequest, "port" | "exportName" | "filePath" | "jobId" | "vmName" | "diskId">;

/** The start the figures send: export "bench" of `filePath` (in the server's repository) for `jobId`. */
export function apiStartBody(port: number, filePath: string, jobId: string): ApiStartBody {
  return { port, exportName: "bench", filePath, jobId, vmName: "bench", diskId: "disk0" };
}

export type StartStop<T> = { startMs: number; stopMs: number; ready: T };

export type ApiStarted = StartedExport;

export async function apiStartStop(
  server: BenchServer,
  body: ApiStartBody,
  onReady?: (started: ApiStarted) => Promise<void>,
): Promise<StartStop<ApiStarted> & { unclean: boolean }> {
  const t0 = performance.now();
  const started = await server.api<ApiStarted>("POST", "/nbd/qemu-nbd/start", body);
  const startMs = performance.now() - t0;
  if (started.status !== 201) throw new Error(`start answered ${started.status}: ${JSON.stringify(started.body)}`);
  const failed = await checkReady(onReady, started.body);
  const s0 = performance.now();
  const stopped = await server.api<{ stopped: number[]; unclean?: number[] }>("POST", "/nbd/qemu-nbd/stop", {
    port: body.port,
  });
  const stopMs = performance.now() - s0;
  if (stopped.status !== 200) throw new Error(`stop answered ${stopped.status}: ${JSON.stringify(stopped.body)}`);
  // The start through the API allocated the port for the job; give it back.
  await server.api("POST", "/nbd/ports/release", { jobId: body.jobId });
  if (failed) throw failed.error;
  return { startMs, stopMs, unclean: Boolean(stopped.body.unclean?.length), ready: started.body };
}

export async function bareStartStop(
  image: string,
  port: number,
  runDir: string,
  options: BareOptions = {},
  onReady?: (exp: BareExport) => Promise<void>,
): Promise<StartStop<BareExport>> {
  const exp = await startBareExport(image, port, runDir, "bench", options);
  const failed = await checkReady(onReady, exp);
  const b0 = performance.now();
  await exp.stop();
  const stopMs = performance.now() - b0;
  if (failed) throw failed.error;
  return { startMs: exp.readyMs, stopMs, ready: exp };
}

/** Run the check; what it threw comes back, to be thrown once the export is stopped. */
async function checkReady<T>(
  onReady: ((ready: T) => Promise<void>) | undefined,
  ready: T,
): Promise<{ error: unknown } | null> {
  try {
    await onReady?.(ready);
    return null;
  } catch (error) {
    return { error };
  }
}
