// The campaign's summary as printed at the end of a run (and by the short campaign in npm test).
import type { CampaignSummary } from "./model";

export function formatSummary(s: CampaignSummary): string {
  const lines = [
    "",
    "=== chaos campaign summary ===",
    `seed:      ${s.seed}   (replay: npm run chaos -- ${s.mode === "default" ? "" : `--${s.mode} `}--seed ${s.seed} --jobs ${s.jobsPlanned})`,
    `duration:  ${s.durationSeconds} s, ${s.rounds} rounds`,
    `jobs:      ${s.jobsSubmitted} submitted, ${s.jobsCreated} created; ${Object.entries(s.jobsByStatus)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
    `faults:    ${Object.entries(s.faults)
      .map(
        ([k, v]) =>
          `${k} ${v.injected}${v.landed ? ` (${v.landed} landed)` : ""}${v.missed ? ` (+${v.missed} missed)` : ""}`,
      )
      .join(", ")}`,
    `landed:    ${landedLine(s)}`,
    ...s.skippedKinds.map((k) => `skipped:   ${k.kind}: ${k.reason}`),
    `checks:    ${s.checksTotal} (${Object.entries(s.checks)
      .map(([k, v]) => `inv ${k}: ${v}`)
      .join("; ")})`,
    ...s.notes.map((n) => `note:      ${n}`),
    `breaches:  ${s.breaches.length}`,
    ...s.breaches.map((b) => `  - ${b}`),
  ];
  if (s.state) lines.push("", "--- state at the breach ---", s.state);
  return lines.join("\n");
}

/** Kill and stop faults: how many struck a disk still copying, of all that were planned. */
function landedLine(s: CampaignSummary): string {
  const kinds = ["kill-qemu-nbd", "kill-mover", "stop-qemu-nbd", "stop-mover"];
  const planned = kinds.reduce((n, k) => n + (s.faults[k]?.injected ?? 0) + (s.faults[k]?.missed ?? 0), 0);
  const landed = kinds.reduce((n, k) => n + (s.faults[k]?.landed ?? 0), 0);
  const pct = planned ? Math.round((landed / planned) * 100) : 0;
  return `${landed} of ${planned} kill and stop faults struck a copy under way (${pct} %; the goal is at least half)`;
}
