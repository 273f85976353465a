"use client";
// The admin screens' lists, users and API tokens, and the changes made to them. After a change,
// settled or not, its list is read again, so the table shows what the server now holds. A
// token's secret only ever exists in the answer to its creation (the create mutation's result).
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type {
  CreatedTokenView,
  CreateTokenBody,
  CreateUserBody,
  TokenListView,
  TokenView,
  UpdateUserBody,
  UserListView,
  UserView,
} from "@/lib/api/schemas/auth";
import { apiFetch } from "./api-fetch";
import { useApiQuery } from "./api-query";
import { queryKeys } from "./keys";

type List = "users" | "tokens";

function useChange<A, T>(list: List, send: (arg: A) => Promise<T>) {
  const client = useQueryClient();
  return useMutation({ mutationFn: send, onSettled: () => client.invalidateQueries({ queryKey: queryKeys[list]() }) });
}

const itemPath = (list: List, id: string) => `/${list}/${encodeURIComponent(id)}`;

export const useUsers = () => useApiQuery<UserListView>(queryKeys.users(), "/users");
export const useTokens = () => useApiQuery<TokenListView>(queryKeys.tokens(), "/tokens");

export function useUserMutations() {
  return {
    create: useChange("users", (json: CreateUserBody) => apiFetch<UserView>("/users", { method: "POST", json })),
    update: useChange("users", ({ id, patch }: { id: string; patch: UpdateUserBody }) =>
      apiFetch<UserView>(itemPath("users", id), { method: "PATCH", json: patch }),
    ),
    remove: useChange("users", (id: string) => apiFetch<UserView>(itemPath("users", id), { method: "DELETE" })),
  };
}

export function useTokenMutations() {
  return {
    create: useChange("tokens", (json: CreateTokenBody) =>
      apiFetch<CreatedTokenView>("/tokens", { method: "POST", json }),
    ),
    revoke: useChange("tokens", (id: string) => apiFetch<TokenView>(itemPath("tokens", id), { method: "DELETE" })),
  };
}
