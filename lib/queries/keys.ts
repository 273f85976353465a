// Query keys from one factory, so invalidation after an action hits exactly what changed.
/** `vmName` matches VM names that start with it; `node` keeps one node's jobs. */
export type BackupFilters = {
  status?: string;
  vmName?: string;
  node?: string;
  range?: string;
  from?: string;
  to?: string;
};
/** GET /audit's filters; `from` and `to` are ISO-8601 times. */
export type AuditFilters = {
  actor?: string;
  action?: string;
  target?: string;
  result?: string;
  from?: string;
  to?: string;
};

export const queryKeys = {
  health: () => ["health"] as const,
  ports: () => ["ports"] as const,
  /** Every export list (any node); with `node`, that node's running exports. */
  exports: (node?: string) => (node ? (["exports", { node }] as const) : (["exports"] as const)),
  /** Running exports plus those that ended in the last `seconds` (the Ports grid). */
  recentExports: (seconds: number) => ["exports", "recent", seconds] as const,
  /** Every list of backups (any filters): invalidate this after a job changes. */
  backupLists: () => ["backups"] as const,
  backups: (filters: BackupFilters = {}) => ["backups", filters] as const,
  activeBackups: () => ["backups", "active"] as const,
  backup: (id: string) => ["backup", id] as const,
  sources: () => ["sources"] as const,
  copyPlan: (q: Record<string, string>) => ["backups", "plan", q] as const,
  metrics: () => ["metrics"] as const,
  stats: () => ["stats"] as const,
  dashboardStats: (since: string) => ["stats", "dashboard", since] as const,
  /** One node's pool history, or every node's summed (`node` left out). */
  poolHistory: (range: string, node?: string) => ["stats", "pool-history", range, node ?? ""] as const,
  nodes: () => ["nodes"] as const,
  /** Who is signed in (GET /auth/me). */
  me: () => ["auth", "me"] as const,
  users: () => ["auth", "users"] as const,
  tokens: () => ["auth", "tokens"] as const,
  audit: (filters: AuditFilters) => ["auth", "audit", filters] as const,
  repository: () => ["repository"] as const,
  repositoryHistory: (hours: number) => ["repository", "history", hours] as const,
  /** The restores list; a restore's own entry (`restore`) is apart from it. */
  restores: () => ["restores"] as const,
  restore: (id: string) => ["restore", id] as const,
  vms: () => ["vms"] as const,
  restorePoints: (vmName: string) => ["vms", vmName, "restore-points"] as const,
};
