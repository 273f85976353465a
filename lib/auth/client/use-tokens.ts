"use client";
// API tokens (admin screens). The secret only ever exists in the create mutation's result.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { apiFetch } from "@/lib/queries/api-fetch";
import type { CreateTokenBody, CreatedTokenView, TokenView } from "@/lib/api/schemas/auth";
import { authKeys } from "./keys";

export function useTokens() {
  return useQuery({ queryKey: authKeys.tokens(), queryFn: () => apiFetch<{ items: TokenView[] }>("/tokens") });
}

export function useTokenMutations() {
  const qc = useQueryClient();
  const refresh = () => qc.invalidateQueries({ queryKey: authKeys.tokens() });
  return {
    create: useMutation({ mutationFn: (body: CreateTokenBody) => apiFetch<CreatedTokenView>("/tokens", { method: "POST", json: body }), onSuccess: refresh }),
    revoke: useMutation({ mutationFn: (id: string) => apiFetch<TokenView>(`/tokens/${encodeURIComponent(id)}`, { method: "DELETE" }), onSettled: refresh }),
  };
}
