// After a change: the cached answers it may have made wrong are read again (invalidated).
import type { QueryClient, QueryKey } from "@tanstack/react-query";

export function refresh(client: QueryClient, keys: QueryKey[]): void {
  for (const queryKey of keys) void client.invalidateQueries({ queryKey });
}
