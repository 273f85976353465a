// Figure 2, export start latency: the method of bench/export-start.mts (a colleague's
// stand-alone script) inside the suite. POST /nbd/qemu-nbd/start → 201 (nbdhub answers once
// qemu-nbd's pid file is written) beside a bare qemu-nbd spawn → pid file, interleaved, after
// two uncounted warm-up rounds of each.
import path from "node:path";
import { createQcow2, lostSigterms } from "./common/bare";
import type { Ctx, FigureResult } from "./common/context";
import { apiStartBody, apiStartStop, bareStartStop } from "./common/export-start";
import { summary } from "./common/stats";

export async function exportStart(ctx: Ctx): Promise<FigureResult> {
  const runs = ctx.quick ? 10 : 50;
  const port = ctx.server.portRange.min;
  const barePort = ctx.barePorts.min;
  await createQcow2(path.join(ctx.server.repositoryDir, "bench-start.qcow2"), 1024 ** 3);
  const bareImage = path.join(ctx.bareDir, "bench-start.qcow2");
  await createQcow2(bareImage, 1024 ** 3);
  const body = apiStartBody(port, "bench-start.qcow2", "bench-start");
  const viaApi: number[] = [];
  const bare: number[] = [];
  // Stop right after ready: how long it takes, and how often qemu-nbd lost the SIGTERM.
  const apiStops: number[] = [];
  const bareStops: number[] = [];
  let unclean = 0;
  const lostBefore = lostSigterms;
  for (let i = -2; i < runs; i += 1) {
    const api = await apiStartStop(ctx.server, body);
    if (api.unclean) unclean += 1;
    const exp = await bareStartStop(bareImage, barePort, path.join(ctx.bareDir, "run"));
    if (i >= 0) {
      viaApi.push(api.startMs);
      bare.push(exp.startMs);
      apiStops.push(api.stopMs);
      bareStops.push(exp.stopMs);
    }
  }
  const a = summary(viaApi);
  const b = summary(bare);
  const slowStops = apiStops.filter((ms) => ms > 5000).length;
  ctx.log(
    `figure 2: stop right after ready: API median ${summary(apiStops).median.toFixed(0)} ms, ${slowStops} over 5 s, ${unclean} unclean; bare: ${lostSigterms - lostBefore} SIGTERM(s) resent`,
  );
  ctx.log(
    `figure 2: API median ${a.median.toFixed(1)} ms p95 ${a.p95.toFixed(1)} ms; bare median ${b.median.toFixed(1)} ms p95 ${b.p95.toFixed(1)} ms`,
  );
  return {
    rows: [
      {
        figure: "2 export start",
        metric: `start → ready, median of ${runs}`,
        nbdhub: a.median,
        baseline: b.median,
        baselineName: "bare qemu-nbd spawn → pid file",
        unit: "ms",
      },
      {
        figure: "2 export start",
        metric: `start → ready, p95 of ${runs}`,
        nbdhub: a.p95,
        baseline: b.p95,
        baselineName: "bare qemu-nbd spawn → pid file",
        unit: "ms",
      },
      {
        figure: "2 export start",
        metric: "  stop right after ready, max",
        nbdhub: Math.max(...apiStops),
        baseline: Math.max(...bareStops),
        baselineName: "bare SIGTERM (repeated every 100 ms) → exit",
        unit: "ms",
        note: `${slowStops} API stop(s) over 5 s, ${unclean} unclean; ${lostSigterms - lostBefore} bare SIGTERM(s) repeated`,
      },
    ],
    data: {
      runs,
      apiMs: viaApi,
      bareMs: bare,
      api: a,
      bare: b,
      stopRightAfterReady: {
        api: summary(apiStops),
        bare: summary(bareStops),
        apiUnclean: unclean,
        bareSigtermsResent: lostSigterms - lostBefore,
      },
    },
  };
}
