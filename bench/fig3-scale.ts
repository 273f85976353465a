// Figure 3, scale: fill the whole pool at once through the API (N starts sent together),
// time until every one answered ready, check each with nbdinfo, read the memory (VmRSS) of
// the server, of its process helper and of all qemu-nbd together, stop them all (POST /nbd/qemu-nbd/stop {jobId})
// and time that; beside N bare qemu-nbd started together and waited for by pid file.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createQcow2, startBareExport, type BareExport } from "./common/bare";
import type { Ctx, FigureResult } from "./common/context";
import { rssOf, run, treeOf } from "./common/procs";
import { mapLimit, median } from "./common/stats";

const MiB = 1024 * 1024;

async function reachable(uris: string[]): Promise<number> {
  const ok = await mapLimit(
    uris,
    8,
    async (uri) =>
      await run("nbdinfo", ["--size", uri]).then(
        () => true,
        () => false,
      ),
  );
  return ok.filter(Boolean).length;
}

const isHelper = async (pid: number) =>
  (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).includes("spawner.mjs");

/**
 * RSS of the server (its process tree without qemu-nbd and nbdcopy), and of its process helper
 * (lib/proc/spawner.mjs, issue 15) apart: the helper is not part of the server's own figure.
 */
export async function serverRss(pid: number): Promise<{ server: number; helper: number }> {
  const tree = (await treeOf(pid)).filter((p) => !["qemu-nbd", "nbdcopy"].includes(p.comm));
  let server = 0;
  let helper = 0;
  for (const p of tree) {
    if (await isHelper(p.pid)) helper += await rssOf(p.pid);
    else server += await rssOf(p.pid);
  }
  return { server, helper };
}

type Round = {
  readyMs: number;
  stopMs: number;
  reachable: number;
  serverRssIdle: number;
  serverRssFull: number;
  helperRssFull: number;
  qemuRss: number;
};

export async function scale(ctx: Ctx): Promise<FigureResult> {
  const { min, max } = ctx.server.portRange;
  const n = max - min + 1;
  const rounds = ctx.quick ? 1 : 3;
  const runDir = path.join(ctx.bareDir, "run");
  ctx.log(`figure 3: ${n} exports, ${rounds} round(s)`);
  await mapLimit(
    Array.from({ length: n }, (_, i) => i),
    4,
    async (i) => {
      await createQcow2(path.join(ctx.server.repositoryDir, "scale", `s${i}.qcow2`), 64 * MiB);
      await createQcow2(path.join(ctx.bareDir, "scale", `s${i}.qcow2`), 64 * MiB);
    },
  );
  const api: Round[] = [];
  const bare: Round[] = [];
  for (let r = 0; r < rounds; r += 1) {
    // Through the API.
    const serverRssIdle = (await serverRss(ctx.server.pid)).server;
    const t0 = performance.now();
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        ctx.server.api<{ pid: number; uri: string; port: number }>("POST", "/nbd/qemu-nbd/start", {
          port: min + i,
          exportName: `s${i}`,
          filePath: `scale/s${i}.qcow2`,
          jobId: "bench-scale",
          vmName: "bench",
          diskId: `d${i}`,
        }),
      ),
    );
    const readyMs = performance.now() - t0;
    const failed = answers.filter((a) => a.status !== 201);
    if (failed.length) {
      await ctx.server.api("POST", "/nbd/qemu-nbd/stop", { jobId: "bench-scale" });
      throw new Error(
        `${failed.length} of ${n} starts failed, e.g. ${failed[0].status} ${JSON.stringify(failed[0].body)}`,
      );
    }
    const ok = await reachable(answers.map((a) => `nbd://127.0.0.1:${a.body.port}/s${a.body.port - min}`));
    const { server: serverRssFull, helper: helperRssFull } = await serverRss(ctx.server.pid);
    const qemuRss = (await Promise.all(answers.map((a) => rssOf(a.body.pid)))).reduce((x, y) => x + y, 0);
    const t1 = performance.now();
    const stopped = await ctx.server.api<{ stopped: number[] }>("POST", "/nbd/qemu-nbd/stop", { jobId: "bench-scale" });
    const stopMs = performance.now() - t1;
    if (stopped.status !== 200 || stopped.body.stopped.length !== n)
      throw new Error(`stop answered ${stopped.status}: ${JSON.stringify(stopped.body).slice(0, 300)}`);
    await ctx.server.api("POST", "/nbd/ports/release", { jobId: "bench-scale" });
    api.push({ readyMs, stopMs, reachable: ok, serverRssIdle, serverRssFull, helperRssFull, qemuRss });

    // Bare.
    const b0 = performance.now();
    const settled = await Promise.allSettled(
      Array.from({ length: n }, (_, i) =>
        startBareExport(path.join(ctx.bareDir, "scale", `s${i}.qcow2`), ctx.barePorts.min + i, runDir, `s${i}`),
      ),
    );
    const bareReadyMs = performance.now() - b0;
    const exps = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    const bareFailed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    try {
      if (bareFailed) throw new Error(`bare start failed: ${String(bareFailed.reason)}`);
      const bareOk = await reachable(exps.map((e) => e.uri));
      const bareQemuRss = (await Promise.all(exps.map((e) => rssOf(e.pid)))).reduce((x, y) => x + y, 0);
      const s0 = performance.now();
      await Promise.all(exps.map((e: BareExport) => e.stop()));
      bare.push({
        readyMs: bareReadyMs,
        stopMs: performance.now() - s0,
        reachable: bareOk,
        serverRssIdle: 0,
        serverRssFull: 0,
        helperRssFull: 0,
        qemuRss: bareQemuRss,
      });
    } finally {
      await Promise.all(exps.map((e) => e.stop()));
    }
    ctx.log(
      `figure 3: round ${r + 1}: API ready ${readyMs.toFixed(0)} ms, stop ${stopMs.toFixed(0)} ms, ${ok}/${n} reachable; bare ready ${bareReadyMs.toFixed(0)} ms`,
    );
  }
  const m = (xs: Round[], k: keyof Round) => median(xs.map((x) => x[k]));
  const reachableAll = api.every((x) => x.reachable === n) && bare.every((x) => x.reachable === n);
  return {
    rows: [
      {
        figure: "3 scale",
        metric: `${n} exports started together → all ready`,
        nbdhub: m(api, "readyMs") / 1000,
        baseline: m(bare, "readyMs") / 1000,
        baselineName: `${n} bare qemu-nbd → pid files`,
        unit: "s",
      },
      {
        figure: "3 scale",
        metric: `  reachable with nbdinfo (of ${n})`,
        nbdhub: Math.min(...api.map((x) => x.reachable)),
        baseline: Math.min(...bare.map((x) => x.reachable)),
        baselineName: "",
        unit: "",
        ratio: null,
        note: reachableAll ? "all" : "SOME UNREACHABLE",
      },
      {
        figure: "3 scale",
        metric: `  stop all ${n}`,
        nbdhub: m(api, "stopMs") / 1000,
        baseline: m(bare, "stopMs") / 1000,
        baselineName: "SIGTERM all, wait for exits",
        unit: "s",
      },
      {
        figure: "3 scale",
        metric: `  RSS of all ${n} qemu-nbd`,
        nbdhub: m(api, "qemuRss") / MiB,
        baseline: m(bare, "qemuRss") / MiB,
        baselineName: "",
        unit: "MiB",
      },
      {
        figure: "3 scale",
        metric: `  RSS of the server with ${n} exports (before)`,
        nbdhub: m(api, "serverRssFull") / MiB,
        baseline: m(api, "serverRssIdle") / MiB,
        baselineName: "same server before the fill",
        unit: "MiB",
      },
      {
        figure: "3 scale",
        metric: `  RSS of its process helper with ${n} exports`,
        nbdhub: m(api, "helperRssFull") / MiB,
        baseline: null,
        baselineName: "",
        unit: "MiB",
        ratio: null,
      },
    ],
    data: { n, rounds, api, bare },
  };
}
