// The parts of the hub's answers nbdhub-client reads (docs/api.md: BackupJob, Restore).

export type DiskTls = { username: string; psk: string };

export type BackupDisk = {
  diskId: string;
  status: string;
  nbdUri: string | null;
  targetPath: string | null;
  totalBytes: number;
  transferredBytes: number;
  error: string | null;
  verified: boolean;
  verification: string | null;
  tls?: DiskTls;
};

export type BackupJob = {
  id: string;
  vmName: string;
  type: string;
  status: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  totalBytes: number;
  transferredBytes: number;
  verified: boolean;
  verification: string | null;
  disks: BackupDisk[];
};

export type RestoreDisk = {
  diskId: string;
  status: string;
  nbdUri: string | null;
  totalBytes: number;
  error: string | null;
  tls?: DiskTls;
};

export type Restore = { id: string; jobId: string; status: string; error: string | null; disks: RestoreDisk[] };

export const JOB_ENDED = ["completed", "failed", "cancelled"];
export const RESTORE_ENDED = ["completed", "failed", "cancelled", "expired"];

/** NBD connect options for an export: TLS-PSK when the hub gave a key, plain otherwise. */
export function tlsOptions(tls: DiskTls | undefined) {
  return tls ? { tls: { psk: { identity: tls.username, key: tls.psk } } } : {};
}
