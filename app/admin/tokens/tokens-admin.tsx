"use client";
// Create a token (its secret is shown here once, with a copy button), list and revoke tokens.
import { Button } from "@/app/components/button";
import { RemoveRowButton } from "@/app/components/confirm-button";
import { CopyButton } from "@/app/components/copy-button";
import { td, tdMuted } from "@/app/components/data-table";
import { formatDateTime } from "@/app/components/format";
import { TablePanel, type PanelRows } from "@/app/components/table-panel";
import type { CreatedTokenView, TokenListView, TokenView } from "@/lib/api/schemas/auth";
import { useTokenMutations, useTokens } from "@/lib/queries/use-users-and-tokens";
import { CreatePanel, type CreateForm } from "../create-panel";
import { ACTIONS } from "../../components/data-table";

function NewSecret({ token, onDismiss }: { token: CreatedTokenView; onDismiss: () => void }) {
  return (
    <div
      role="status"
      data-testid="new-token"
      className="mt-4 rounded-lg border border-amber-300 bg-amber-50 p-4 dark:border-amber-800 dark:bg-amber-950/40"
    >
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

const NEW_TOKEN: CreateForm = {
  kind: "token",
  title: "New token",
  description: "Give it a name that says who uses it, and the least role that does the job.",
  submit: "Create token",
  fields: [
    {
      label: "Name",
      id: "token-name",
      name: "name",
      required: true,
      placeholder: "e.g. backup-agent-host1",
      autoComplete: "off",
    },
  ],
  defaultRole: "operator",
};

export function CreateToken() {
  // The secret is held only in the panel's state: leaving the page forgets it for good.
  const made = (token: CreatedTokenView, dismiss: () => void) => <NewSecret token={token} onDismiss={dismiss} />;
  return <CreatePanel form={NEW_TOKEN} creating={useTokenMutations().create} made={made} />;
}

const REVOKE_CONSEQUENCE =
  "Every client using this token is refused from now on. This cannot be undone; create a new token instead.";

function TokenStatus({ token: t }: { token: TokenView }) {
  const refused = "text-rose-700 dark:text-rose-300";
  if (t.revokedAt) return <span className={refused}>revoked {formatDateTime(t.revokedAt)}</span>;
  if (t.refusedBecause) return <span className={refused}>refused: {t.refusedBecause}</span>;
  return <span className="text-emerald-700 dark:text-emerald-300">active</span>;
}

function TokenRow({ token: t }: { token: TokenView }) {
  const { revoke } = useTokenMutations();
  return (
    <tr data-testid="token-row" data-token-name={t.name} className={t.revokedAt ? "opacity-60" : undefined}>
      <td className={`${td} font-medium`}>{t.name}</td>
      <td className={td} data-testid="token-role">
        {t.role}
        {t.effectiveRole && t.effectiveRole !== t.role ? (
          <span className="block text-xs text-amber-700 dark:text-amber-300">
            acts as {t.effectiveRole}: its maker is {t.effectiveRole}
          </span>
        ) : null}
      </td>
      <td className={tdMuted}>
        {formatDateTime(t.createdAt)}
        {t.createdBy ? <span className="block text-xs">by {t.createdBy}</span> : null}
      </td>
      <td className={tdMuted}>{t.lastUsedAt ? formatDateTime(t.lastUsedAt) : "never"}</td>
      <td className={td} data-testid="token-status">
        <TokenStatus token={t} />
      </td>
      <td className={`${td} text-right`}>
        {!t.revokedAt ? (
          <RemoveRowButton
            id={t.id}
            removing={revoke}
            testId="token-revoke"
            title={`Revoke “${t.name}”?`}
            confirmLabel="Revoke token"
            consequence={REVOKE_CONSEQUENCE}
          >
            Revoke
          </RemoveRowButton>
        ) : null}
      </td>
    </tr>
  );
}

const TOKENS: PanelRows<TokenListView, TokenView> = {
  noun: "tokens",
  columns: ["Name", "Role", "Created", "Last used", "Status", ACTIONS],
  rowsOf: (data) => data.items,
  row: (t) => <TokenRow key={t.id} token={t} />,
  empty: <p className="p-4 text-sm text-slate-500">No tokens yet.</p>,
};

export function TokenList() {
  return <TablePanel title="Tokens" query={useTokens()} rows={TOKENS} />;
}
