// A short fault campaign inside `npm test` (issue #8; the full one is `npm run chaos`):
// a fixed seed and a few jobs, every fault kind that can run here, every invariant.
import { describe, expect, it } from "vitest";
import { runCampaign } from "../chaos/campaign";
import { formatSummary } from "../chaos/summary";

// Seed 122 plans 10 of the 12 fault kinds in 8 jobs (all but server-restart and stop-mover; a
// Postgres restart), with three source faults on VMs that read NBD sources.
const SEED = Number(process.env.CHAOS_SEED ?? 122);
const JOBS = Number(process.env.CHAOS_JOBS ?? 8);

describe("fault campaign (short)", () => {
  it(`runs ${JOBS} jobs under faults (seed ${SEED}) without a breach`, { timeout: 300_000 }, async () => {
    const lines: string[] = [];
    const summary = await runCampaign({ seed: SEED, mode: "quick", jobs: JOBS, log: (line) => lines.push(line) });
    const report = formatSummary(summary);
    console.log(report.split("\n--- state at the breach ---")[0]);
    expect(summary.breaches, `${lines.join("\n")}\n${report}`).toEqual([]);
    expect(summary.jobsCreated).toBeGreaterThan(0);
    expect(Object.values(summary.faults).reduce((n, f) => n + f.injected, 0)).toBeGreaterThan(0);
    expect(summary.checksTotal).toBeGreaterThan(0);
  });
});
