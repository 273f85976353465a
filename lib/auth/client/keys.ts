// Query keys of the access-control screens, from one factory (invalidate exactly what changed).
export const authKeys = {
  me: () => ["auth", "me"] as const,
  users: () => ["auth", "users"] as const,
  tokens: () => ["auth", "tokens"] as const,
  audit: (filters: Record<string, string | undefined>) => ["auth", "audit", filters] as const,
};
