// Figure 9, export start with TLS (issue 17): figure 2's method on a second server of the same
// build that runs with NBDHUB_NBD_TLS=required (its own data folder, PostgreSQL and ports,
// started here and stopped at the end; ctx.server keeps running untouched for the other
// figures). Four starts per round, interleaved, after two uncounted warm-up rounds:
//   - POST /nbd/qemu-nbd/start → 201 on the TLS server (a key made and written per export);
//   - bare qemu-nbd with the same TLS options and a key folder written the same way
//     (lib/nbd/tls-keys.ts, qemuNbdArgs' `tls`), spawn → pid file;
//   - the same start on ctx.server (no TLS), and a bare qemu-nbd without TLS.
// The first warm-up round checks that both TLS exports refuse a client without TLS and serve
// one with the key (nbdinfo), so that the figure measures what it says.
import { promises as fs } from "node:fs";
import path from "node:path";
import { makeExportKey, removeExportKey, TLS_CREDS_ID } from "../lib/nbd/tls-keys";
import { createQcow2, lostSigterms } from "./common/bare";
import type { Ctx, FigureResult, Row } from "./common/context";
import { apiStartBody, apiStartStop, bareStartStop } from "./common/export-start";
import { run } from "./common/procs";
import { summary, type Summary } from "./common/stats";

const IMAGE = "bench-tls.qcow2";

/** nbdinfo must fail without TLS and succeed with the key in `pskFile` (`username:hexkey`). */
async function checkRequiresTls(port: number, username: string, pskFile: string, what: string): Promise<void> {
  const plain = await run("nbdinfo", ["--size", `nbd://127.0.0.1:${port}/bench`]).then(
    () => true,
    () => false,
  );
  if (plain) throw new Error(`${what} served a client without TLS`);
  await run("nbdinfo", ["--size", `nbds://${username}@127.0.0.1:${port}/bench?tls-psk-file=${pskFile}`]).catch(
    (error: Error) => {
      throw new Error(`${what} refused a client with its key: ${error.message}`);
    },
  );
}

export async function exportStartTls(ctx: Ctx): Promise<FigureResult> {
  const runs = ctx.quick ? 10 : 30;
  const s0 = performance.now();
  const tlsServer = await ctx.startServer({ name: "tls", env: { NBDHUB_NBD_TLS: "required" }, nbdPorts: 4 });
  const serverStartS = (performance.now() - s0) / 1000;
  ctx.log(
    `figure 9: the server with NBDHUB_NBD_TLS=required answered its health check after ${serverStartS.toFixed(1)} s`,
  );
  try {
    await createQcow2(path.join(tlsServer.repositoryDir, IMAGE), 1024 ** 3);
    await createQcow2(path.join(ctx.server.repositoryDir, IMAGE), 1024 ** 3);
    const bareImage = path.join(ctx.bareDir, IMAGE);
    await createQcow2(bareImage, 1024 ** 3);
    const runDir = path.join(ctx.bareDir, "run");
    const clientKey = path.join(ctx.root, "tls", "client.psk");
    const tlsBody = apiStartBody(tlsServer.portRange.min, IMAGE, "bench-start-tls");
    const plainBody = apiStartBody(ctx.server.portRange.min, IMAGE, "bench-start-plain");

    const apiTls: number[] = [];
    const bareTls: number[] = [];
    const apiPlain: number[] = [];
    const barePlain: number[] = [];
    const keyWrites: number[] = [];
    let unclean = 0;
    const lostBefore = lostSigterms;
    for (let i = -2; i < runs; i += 1) {
      const check = i === -2;
      const api = await apiStartStop(tlsServer, tlsBody, async (started) => {
        if (!started.tls) throw new Error(`the TLS server's 201 carries no key: ${JSON.stringify(started)}`);
        if (!check) return;
        await fs.writeFile(clientKey, `${started.tls.username}:${started.tls.psk}\n`, { mode: 0o600 });
        await checkRequiresTls(tlsBody.port, started.tls.username, clientKey, "nbdhub's TLS export");
      });
      if (api.unclean) unclean += 1;

      // The bare start's key folder, written as the export manager writes it, before the spawn.
      const id = `bare-tls-${i + 2}`;
      const k0 = performance.now();
      const key = await makeExportKey(runDir, id);
      const keyMs = performance.now() - k0;
      const bare = await bareStartStop(
        bareImage,
        ctx.barePorts.min,
        runDir,
        { tls: { credsId: TLS_CREDS_ID, dir: key.dir } },
        check
          ? (exp) => checkRequiresTls(exp.port, key.username, path.join(key.dir, "keys.psk"), "the bare TLS export")
          : undefined,
      ).finally(() => removeExportKey(runDir, id));

      const plainApi = await apiStartStop(ctx.server, plainBody);
      if (plainApi.unclean) unclean += 1;
      const plainBare = await bareStartStop(bareImage, ctx.barePorts.min, runDir);
      if (i >= 0) {
        apiTls.push(api.startMs);
        bareTls.push(bare.startMs);
        apiPlain.push(plainApi.startMs);
        barePlain.push(plainBare.startMs);
        keyWrites.push(keyMs);
      }
    }
    await fs.rm(clientKey, { force: true });

    const s = { apiTls: summary(apiTls), bareTls: summary(bareTls), apiPlain: summary(apiPlain) };
    const b = summary(barePlain);
    const ms = (x: Summary) => `median ${x.median.toFixed(1)} ms p95 ${x.p95.toFixed(1)} ms`;
    ctx.log(`figure 9: with TLS: API ${ms(s.apiTls)}; bare ${ms(s.bareTls)}`);
    ctx.log(`figure 9: without TLS: API ${ms(s.apiPlain)}; bare ${ms(b)}`);
    ctx.log(
      `figure 9: bare key folder written in ${summary(keyWrites).median.toFixed(2)} ms (median, not in the bare time); ${unclean} unclean API stop(s); ${lostSigterms - lostBefore} bare SIGTERM(s) resent`,
    );
    const rows: Row[] = [];
    const pair = (metric: string, a: Summary, z: Summary, baselineName: string, note?: string) => {
      rows.push({
        figure: "9 export start TLS",
        metric: `${metric}, median of ${runs}`,
        nbdhub: a.median,
        baseline: z.median,
        baselineName,
        unit: "ms",
        note,
      });
      rows.push({
        figure: "9 export start TLS",
        metric: `${metric}, p95 of ${runs}`,
        nbdhub: a.p95,
        baseline: z.p95,
        baselineName,
        unit: "ms",
        note,
      });
    };
    pair("start → ready with TLS", s.apiTls, s.bareTls, "bare qemu-nbd with the same TLS options, spawn → pid file");
    pair(
      "  TLS itself: bare with / without",
      s.bareTls,
      b,
      "bare qemu-nbd without TLS",
      "both columns are bare qemu-nbd",
    );
    pair(
      "  TLS through nbdhub: API with / without",
      s.apiTls,
      s.apiPlain,
      "the same start on a server without TLS",
      "both columns are nbdhub",
    );
    return {
      rows,
      data: {
        runs,
        serverStartSeconds: serverStartS,
        apiTlsMs: apiTls,
        bareTlsMs: bareTls,
        apiPlainMs: apiPlain,
        barePlainMs: barePlain,
        bareKeyWriteMs: keyWrites,
        apiTls: s.apiTls,
        bareTls: s.bareTls,
        apiPlain: s.apiPlain,
        barePlain: b,
        apiUnclean: unclean,
        bareSigtermsResent: lostSigterms - lostBefore,
      },
    };
  } finally {
    await tlsServer.stop();
  }
}
