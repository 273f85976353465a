// The console's address of one thing (a job, a restore, a VM), its name escaped: every link and
// every navigation to one is built here.
export const jobHref = (id: string) => `/jobs/${encodeURIComponent(id)}`;
export const restoreHref = (id: string) => `/restores/${encodeURIComponent(id)}`;
export const vmHref = (vmName: string) => `/vms/${encodeURIComponent(vmName)}`;
/** The restore form for one restore point (a completed backup job). */
export const newRestoreHref = (jobId: string) => `/restores/new?jobId=${encodeURIComponent(jobId)}`;
