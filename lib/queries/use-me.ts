"use client";
// Who is signed in, for the console to hide what the role may not do. Hiding is a courtesy:
// the API refuses the request either way.
import type { MeView } from "@/lib/api/schemas/auth";
import { hasRole, type Role } from "@/lib/auth/roles";
import { useApiQuery } from "./api-query";
import { queryKeys } from "./keys";

function useMe() {
  return useApiQuery<MeView>(queryKeys.me(), "/auth/me", { staleTime: 60_000, retry: false });
}

/** True once the caller is known to have at least `role`; false while loading or signed out. */
export function useCan(role: Role): boolean {
  const { data } = useMe();
  return hasRole(data?.role, role);
}
