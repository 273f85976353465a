// The one table on stdout: figure and metric, nbdhub's value, the baseline's, their ratio.
import type { Row } from "./context";

export function formatValue(v: number | null | undefined, unit: string): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const digits =
    unit === "s" ? 2 : unit === "ms" ? 1 : unit === "MiB" || unit === "ops/s" ? 0 : Number.isInteger(v) ? 0 : 2;
  return `${v.toFixed(digits)}${unit ? ` ${unit}` : ""}`;
}

export function formatTable(rows: Row[]): string {
  const cells = rows.map((r) => [
    `${r.figure.padEnd(14)} ${r.metric}`,
    formatValue(r.nbdhub, r.unit),
    formatValue(r.baseline, r.unit),
    r.ratio === null || r.ratio === undefined ? "" : `${r.ratio.toFixed(2)}×`,
    [r.baselineName, r.note].filter(Boolean).join("; "),
  ]);
  const head = ["figure", "nbdhub", "baseline", "ratio", "baseline is / note"];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c
      .map((x, i) => (i === 0 || i === 4 ? x.padEnd(widths[i]) : x.padStart(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n");
}

/** The same table in Markdown, for docs/benchmarks.md. */
export function markdownTable(rows: Row[]): string {
  const out = ["| figure | nbdhub | baseline | ratio | baseline is / note |", "|---|---:|---:|---:|---|"];
  for (const r of rows) {
    const ratio = r.ratio === null || r.ratio === undefined ? "" : `${r.ratio.toFixed(2)}×`;
    out.push(
      `| ${r.figure} ${r.metric.trim()} | ${formatValue(r.nbdhub, r.unit)} | ${formatValue(r.baseline, r.unit)} | ${ratio} | ${[r.baselineName, r.note].filter(Boolean).join("; ")} |`,
    );
  }
  return out.join("\n");
}
