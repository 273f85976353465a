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
      .map(([k, v]) => `${k} ${v.injected}${v.missed ? ` (+${v.missed} missed)` : ""}`)
      .join(", ")}`,
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
