"use client";
// The user list and its changes (admin screens).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { apiFetch } from "@/lib/queries/api-fetch";
import type { CreateUserBody, UpdateUserBody, UserView } from "@/lib/api/schemas/auth";
import { authKeys } from "./keys";

export function useUsers() {
  return useQuery({ queryKey: authKeys.users(), queryFn: () => apiFetch<{ items: UserView[] }>("/users") });
}

export function useUserMutations() {
  const qc = useQueryClient();
  const refresh = () => qc.invalidateQueries({ queryKey: authKeys.users() });
  return {
    create: useMutation({ mutationFn: (body: CreateUserBody) => apiFetch<UserView>("/users", { method: "POST", json: body }), onSuccess: refresh }),
    update: useMutation({
      mutationFn: ({ id, patch }: { id: string; patch: UpdateUserBody }) => apiFetch<UserView>(`/users/${encodeURIComponent(id)}`, { method: "PATCH", json: patch }),
      onSettled: refresh,
    }),
    remove: useMutation({ mutationFn: (id: string) => apiFetch<UserView>(`/users/${encodeURIComponent(id)}`, { method: "DELETE" }), onSettled: refresh }),
  };
}
