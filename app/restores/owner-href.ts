// Where an export or a port's holder links: a restore's page for a restore's (ownerKind
// "restore"; a port reserved before its export started is known by the restore id's prefix),
// else the backup job's.
import { jobHref, restoreHref } from "../components/hrefs";

export function isRestoreOwner(jobId: string, ownerKind?: string): boolean {
  return ownerKind === "restore" || (ownerKind === undefined && jobId.startsWith("restore-"));
}

export function ownerHref(jobId: string, ownerKind?: string): string {
  return isRestoreOwner(jobId, ownerKind) ? restoreHref(jobId) : jobHref(jobId);
}
