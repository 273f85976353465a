// Plain-text tables and the job summaries `jobs`, `status` and `backup` print. Pure.
import { formatBytes } from "@/lib/format";
import type { BackupJob } from "./types";

/** Columns padded to their widest cell; the last column is not padded. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** "2026-05-04 10:22:31" from an ISO time, in UTC; "—" for none. */
export function shortTime(iso: string | null): string {
  return iso ? iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "") : "—";
}

export function jobsTable(jobs: BackupJob[]): string {
  if (!jobs.length) return "no backup jobs";
  const rows = jobs.map((j) => [
    j.id,
    j.vmName,
    j.type,
    j.status,
    shortTime(j.createdAt),
    `${formatBytes(j.transferredBytes)} of ${formatBytes(j.totalBytes)}`,
    j.error ?? "",
  ]);
  return formatTable(["ID", "VM", "TYPE", "STATUS", "CREATED (UTC)", "BYTES", "ERROR"], rows);
}

export function jobSummary(job: BackupJob): string {
  const head = [
    `job ${job.id}: ${job.status}`,
    `  vm ${job.vmName}, ${job.type}, created ${shortTime(job.createdAt)}, finished ${shortTime(job.finishedAt)}`,
    ...(job.error ? [`  error: ${job.error}`] : []),
    ...(job.verification ? [`  verified: ${job.verified ? "yes" : "no"}: ${job.verification}`] : []),
  ];
  const rows = job.disks.map((d) => [
    d.diskId,
    d.status,
    `${formatBytes(d.transferredBytes)} of ${formatBytes(d.totalBytes)}`,
    d.targetPath ?? "—",
    d.error ?? "",
  ]);
  return `${head.join("\n")}\n${formatTable(["DISK", "STATUS", "BYTES", "TARGET", "ERROR"], rows)}`;
}
