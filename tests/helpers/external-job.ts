// The body of `POST /backups` for an external job of one disk: a backup client writes it
// through the NBD address the answer names.
export type ExternalJobOptions = {
  sizeBytes?: number;
  diskId?: string;
  type?: "full" | "incremental";
  /** Pins the job to a node (issue 18). */
  node?: string;
};

export function externalJob(vmName: string, options: ExternalJobOptions = {}) {
  const { sizeBytes = 4 * 1024 * 1024, diskId = "sda", type = "full", node } = options;
  return { vmName, type, mover: "external", ...(node ? { node } : {}), disks: [{ diskId, sizeBytes }] };
}
