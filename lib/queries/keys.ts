// Query keys from one factory, so invalidation after an action hits exactly what changed.
export const queryKeys = {
  health: () => ["health"] as const,
  ports: () => ["ports"] as const,
  exports: () => ["exports"] as const,
  backups: (filters: Record<string, string | undefined> = {}) => ["backups", filters] as const,
  backup: (id: string) => ["backup", id] as const,
  sources: () => ["sources"] as const,
  metrics: () => ["metrics"] as const,
};
