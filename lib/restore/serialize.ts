// Rows → the API's Restore shape (docs/api.md), field by field so a new column never leaks.
import "server-only";
import type { Restore as RestoreRow, RestoreDisk as DiskRow } from "@/lib/generated/prisma/client";
import type { RestoreDestination, RestoreDiskStatus, RestoreMode, RestoreStatus, RestoreView } from "./types";

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function destinationOf(value: unknown): RestoreDestination | null {
  if (!value || typeof value !== "object") return null;
  const v = value as Record<string, unknown>;
  if (typeof v.nbd === "string") return { nbd: v.nbd };
  if (typeof v.path === "string") return { path: v.path, format: v.format === "qcow2" ? "qcow2" : "raw" };
  return null;
}

function chainOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((p): p is string => typeof p === "string") : [];
}

export type RestoreWithDisks = RestoreRow & { disks: DiskRow[] };

export function restoreView(r: RestoreWithDisks): RestoreView {
  return {
    id: r.id,
    node: r.node,
    jobId: r.jobId,
    vmName: r.vmName,
    mode: r.mode as RestoreMode,
    status: r.status as RestoreStatus,
    createdAt: r.createdAt.toISOString(),
    startedAt: iso(r.startedAt),
    finishedAt: iso(r.finishedAt),
    expiresAt: iso(r.expiresAt),
    requestedBy: r.requestedBy,
    error: r.error,
    disks: [...r.disks]
      .sort((a, b) => a.position - b.position)
      .map((d) => ({
        diskId: d.diskId,
        port: d.port,
        nbdUri: d.nbdUri,
        exportName: d.exportName,
        pid: d.pid,
        destination: destinationOf(d.destination),
        status: d.status as RestoreDiskStatus,
        totalBytes: Number(d.totalBytes),
        transferredBytes: Number(d.transferredBytes),
        bytesPerSecond: Math.round(d.bytesPerSecond),
        etaSeconds: d.etaSeconds,
        error: d.error,
        chain: chainOf(d.chain),
        progressAt: iso(d.progressAt),
        stalledSince: iso(d.stalledSince),
      })),
  };
}
