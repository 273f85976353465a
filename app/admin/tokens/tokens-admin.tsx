"use client";
// Create a token (its secret is shown here once, with a copy button), list and revoke tokens.
import { useState, type FormEvent } from "react";
import { Button } from "@/app/components/button";
import { ConfirmDialog } from "@/app/components/confirm-dialog";
import { CopyButton } from "@/app/components/copy-button";
import { formatDateTime } from "@/app/components/format";
import { Panel } from "@/app/components/panel";
import { QueryError } from "@/app/components/query-error";
import { inputClass, labelClass } from "@/app/login/auth-card";
import type { CreatedTokenView, TokenView } from "@/lib/api/schemas/auth";
import { useTokenMutations, useTokens } from "@/lib/auth/client/use-tokens";
import { ROLES, type Role } from "@/lib/auth/roles";
import { errorText, td, th } from "../table-parts";


function NewSecret({ token, onDismiss }: { token: CreatedTokenView; onDismiss: () => void }) {
  return (
    <div role="status" data-testid="new-token" className="mt-4 rounded-lg border border-amber-300 bg-amber-50 p-4 dark:border-amber-800 dark:bg-amber-950/40">
      <p className="text-sm font-medium text-amber-900 dark:text-amber-100">
        Token “{token.name}” ({token.role}) created. Copy it now: it will not be shown again.
      </p>
      <div className="mt-2 flex items-center gap-2 rounded-md bg-white px-3 py-2 ring-1 ring-amber-200 dark:bg-slate-950 dark:ring-amber-900">
        <code data-testid="new-token-secret" className="min-w-0 flex-1 break-all font-mono text-sm select-all">
          {token.token}
        </code>
        <CopyButton value={token.token} label="Copy the token" />
      </div>
      <Button size="sm" className="mt-3" onClick={onDismiss} data-testid="new-token-dismiss">
        I have saved it
      </Button>
    </div>
  );
}

function CreateToken() {
  const { create } = useTokenMutations();
  const [created, setCreated] = useState<CreatedTokenView | null>(null);
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formEl = e.currentTarget;
    const form = new FormData(formEl);
    setCreated(null);
    const token = await create.mutateAsync({ name: String(form.get("name") ?? ""), role: String(form.get("role")) as Role }).catch(() => null);
    if (token) {
      formEl.reset();
      setCreated(token);
    }
  }
  return (
    <Panel title="New token" description="Give it a name that says who uses it, and the least role that does the job.">
      <form onSubmit={submit} className="grid gap-4 sm:grid-cols-[1fr_10rem_auto] sm:items-end" data-testid="token-create-form">
        <div>
          <label htmlFor="token-name" className={labelClass}>
            Name
          </label>
          <input id="token-name" name="name" required placeholder="e.g. backup-agent-host1" autoComplete="off" className={inputClass} />
        </div>
        <div>
          <label htmlFor="token-role" className={labelClass}>
            Role
          </label>
          <select id="token-role" name="role" defaultValue="operator" className={inputClass}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <Button type="submit" variant="primary" busy={create.isPending} data-testid="token-create-submit">
          Create token
        </Button>
      </form>
      {create.isError ? (
        <p role="alert" className="mt-3 text-sm text-rose-700 dark:text-rose-300">
          {errorText(create.error)}
        </p>
      ) : null}
      {/* Held only in this component's state: leaving the page forgets the secret for good. */}
      {created ? <NewSecret token={created} onDismiss={() => setCreated(null)} /> : null}
    </Panel>
  );
}

export function TokensAdmin() {
  const tokens = useTokens();
  const { revoke } = useTokenMutations();
  const [revoking, setRevoking] = useState<TokenView | null>(null);
  return (
    <div className="space-y-6">
      <CreateToken />
      <Panel title="Tokens" bodyClassName="overflow-x-auto">
        {tokens.isError ? (
          <div className="p-4">
            <QueryError error={tokens.error} what="the tokens" onRetry={() => tokens.refetch()} retrying={tokens.isFetching} />
          </div>
        ) : tokens.isPending ? (
          <p className="p-4 text-sm text-slate-500">Loading…</p>
        ) : tokens.data.items.length === 0 ? (
          <p className="p-4 text-sm text-slate-500">No tokens yet.</p>
        ) : (
          <table className="w-full text-sm" data-testid="tokens-table">
            <thead className="border-b border-slate-100 dark:border-slate-800">
              <tr>
                <th className={th}>Name</th>
                <th className={th}>Role</th>
                <th className={th}>Created</th>
                <th className={th}>Last used</th>
                <th className={th}>Status</th>
                <th className={th}>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {tokens.data.items.map((t) => (
                <tr key={t.id} data-testid="token-row" data-token-name={t.name} className={t.revokedAt ? "opacity-60" : undefined}>
                  <td className={`${td} font-medium`}>{t.name}</td>
                  <td className={td} data-testid="token-role">
                    {t.role}
                    {t.effectiveRole && t.effectiveRole !== t.role ? (
                      <span className="block text-xs text-amber-700 dark:text-amber-300">
                        acts as {t.effectiveRole}: its maker is {t.effectiveRole}
                      </span>
                    ) : null}
                  </td>
                  <td className={`${td} whitespace-nowrap text-slate-500 dark:text-slate-400`}>
                    {formatDateTime(t.createdAt)}
                    {t.createdBy ? <span className="block text-xs">by {t.createdBy}</span> : null}
                  </td>
                  <td className={`${td} whitespace-nowrap text-slate-500 dark:text-slate-400`}>{t.lastUsedAt ? formatDateTime(t.lastUsedAt) : "never"}</td>
                  <td className={td} data-testid="token-status">
                    {t.revokedAt ? (
                      <span className="text-rose-700 dark:text-rose-300">revoked {formatDateTime(t.revokedAt)}</span>
                    ) : t.refusedBecause ? (
                      <span className="text-rose-700 dark:text-rose-300">refused: {t.refusedBecause}</span>
                    ) : (
                      <span className="text-emerald-700 dark:text-emerald-300">active</span>
                    )}
                  </td>
                  <td className={`${td} text-right`}>
                    {!t.revokedAt ? (
                      <Button size="sm" variant="ghost" className="text-rose-700 dark:text-rose-300" onClick={() => setRevoking(t)} data-testid="token-revoke">
                        Revoke
                      </Button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Panel>
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke “${revoking?.name ?? ""}”?`}
        confirmLabel="Revoke token"
        busy={revoke.isPending}
        onClose={() => setRevoking(null)}
        onConfirm={() => revoking && revoke.mutate(revoking.id, { onSettled: () => setRevoking(null) })}
      >
        Every client using this token is refused from now on. This cannot be undone; create a new token instead.
      </ConfirmDialog>
    </div>
  );
}
