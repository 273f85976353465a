"use client";
// Users: add one, change a role, disable or enable, reset a password, delete. The server
// refuses changes that would leave no enabled admin; its message is shown as is.
import { useState, type FormEvent } from "react";
import { Button } from "@/app/components/button";
import { ConfirmDialog } from "@/app/components/confirm-dialog";
import { formatDateTime } from "@/app/components/format";
import { Panel } from "@/app/components/panel";
import { QueryError } from "@/app/components/query-error";
import { inputClass, labelClass } from "@/app/login/auth-card";
import { PASSWORD_MIN, type UserView } from "@/lib/api/schemas/auth";
import { useUserMutations, useUsers } from "@/lib/auth/client/use-users";
import { ROLES, type Role } from "@/lib/auth/roles";
import { errorText, td, th } from "../table-parts";


function CreateUser() {
  const { create } = useUserMutations();
  const [done, setDone] = useState<string | null>(null);
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formEl = e.currentTarget;
    const form = new FormData(formEl);
    setDone(null);
    const user = await create
      .mutateAsync({ username: String(form.get("username") ?? ""), password: String(form.get("password") ?? ""), role: String(form.get("role")) as Role })
      .catch(() => null);
    if (user) {
      formEl.reset();
      setDone(`Added ${user.username} (${user.role}).`);
    }
  }
  return (
    <Panel title="Add a user" description="They sign in with this name and password; they can be disabled or removed later.">
      <form onSubmit={submit} className="grid gap-4 sm:grid-cols-[1fr_1fr_10rem_auto] sm:items-end" data-testid="user-create-form">
        <div>
          <label htmlFor="new-username" className={labelClass}>
            User name
          </label>
          <input id="new-username" name="username" required autoComplete="off" className={inputClass} />
        </div>
        <div>
          <label htmlFor="new-password" className={labelClass}>
            Password
          </label>
          <input id="new-password" name="password" type="password" required minLength={PASSWORD_MIN} autoComplete="new-password" className={inputClass} />
        </div>
        <div>
          <label htmlFor="new-role" className={labelClass}>
            Role
          </label>
          <select id="new-role" name="role" defaultValue="viewer" className={inputClass}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <Button type="submit" variant="primary" busy={create.isPending} data-testid="user-create-submit">
          Add user
        </Button>
      </form>
      {create.isError ? (
        <p role="alert" className="mt-3 text-sm text-rose-700 dark:text-rose-300">
          {errorText(create.error)}
        </p>
      ) : done ? (
        <p role="status" className="mt-3 text-sm text-emerald-700 dark:text-emerald-300">
          {done}
        </p>
      ) : null}
    </Panel>
  );
}

function ResetPassword({ user, onDone }: { user: UserView; onDone: () => void }) {
  const { update } = useUserMutations();
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const password = String(new FormData(e.currentTarget).get("password") ?? "");
    const ok = await update.mutateAsync({ id: user.id, patch: { password } }).then(() => true, () => false);
    if (ok) onDone();
  }
  return (
    <form onSubmit={submit} className="mt-2 flex flex-wrap items-center gap-2">
      <label htmlFor={`pw-${user.id}`} className="sr-only">
        New password for {user.username}
      </label>
      <input id={`pw-${user.id}`} name="password" type="password" required minLength={PASSWORD_MIN} placeholder="New password" autoComplete="new-password" className={`${inputClass} mt-0 max-w-56`} />
      <Button type="submit" size="sm" variant="primary" busy={update.isPending}>
        Set password
      </Button>
      <Button size="sm" variant="ghost" onClick={onDone}>
        Cancel
      </Button>
      {update.isError ? <span className="text-xs text-rose-700 dark:text-rose-300">{errorText(update.error)}</span> : null}
    </form>
  );
}

function UserRow({ user, isMe, onDelete }: { user: UserView; isMe: boolean; onDelete: (u: UserView) => void }) {
  const { update } = useUserMutations();
  const [resetting, setResetting] = useState(false);
  return (
    <tr data-testid="user-row" data-username={user.username} className={user.disabled ? "opacity-60" : undefined}>
      <td className={td}>
        <span className="font-medium">{user.username}</span>
        {isMe ? <span className="ml-2 text-xs text-slate-500">(you)</span> : null}
        {resetting ? <ResetPassword user={user} onDone={() => setResetting(false)} /> : null}
        {update.isError ? <p className="mt-1 text-xs text-rose-700 dark:text-rose-300">{errorText(update.error)}</p> : null}
      </td>
      <td className={td}>
        <label htmlFor={`role-${user.id}`} className="sr-only">
          Role of {user.username}
        </label>
        <select
          id={`role-${user.id}`}
          data-testid="user-role"
          value={user.role}
          disabled={update.isPending}
          onChange={(e) => update.mutate({ id: user.id, patch: { role: e.target.value as Role } })}
          className={`${inputClass} mt-0 w-32`}
        >
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </td>
      <td className={td}>{user.disabled ? <span className="text-rose-700 dark:text-rose-300">disabled</span> : <span className="text-emerald-700 dark:text-emerald-300">enabled</span>}</td>
      <td className={`${td} whitespace-nowrap text-slate-500 dark:text-slate-400`}>{user.lastLoginAt ? formatDateTime(user.lastLoginAt) : "never"}</td>
      <td className={`${td} whitespace-nowrap text-right`}>
        <div className="flex justify-end gap-1">
          <Button size="sm" variant="ghost" onClick={() => setResetting(true)} data-testid="user-reset-password">
            Reset password
          </Button>
          {!isMe ? (
            <Button size="sm" variant="ghost" busy={update.isPending} onClick={() => update.mutate({ id: user.id, patch: { disabled: !user.disabled } })} data-testid="user-toggle-disabled">
              {user.disabled ? "Enable" : "Disable"}
            </Button>
          ) : null}
          {!isMe ? (
            <Button size="sm" variant="ghost" className="text-rose-700 dark:text-rose-300" onClick={() => onDelete(user)} data-testid="user-delete">
              Delete
            </Button>
          ) : null}
        </div>
      </td>
    </tr>
  );
}

export function UsersAdmin({ myId }: { myId: string }) {
  const users = useUsers();
  const { remove } = useUserMutations();
  const [deleting, setDeleting] = useState<UserView | null>(null);
  return (
    <div className="space-y-6">
      <CreateUser />
      <Panel title="Accounts" bodyClassName="overflow-x-auto">
        {users.isError ? (
          <div className="p-4">
            <QueryError error={users.error} what="the users" onRetry={() => users.refetch()} retrying={users.isFetching} />
          </div>
        ) : users.isPending ? (
          <p className="p-4 text-sm text-slate-500">Loading…</p>
        ) : (
          <table className="w-full text-sm" data-testid="users-table">
            <thead className="border-b border-slate-100 dark:border-slate-800">
              <tr>
                <th className={th}>User</th>
                <th className={th}>Role</th>
                <th className={th}>Status</th>
                <th className={th}>Last sign-in</th>
                <th className={th}>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {users.data.items.map((u) => (
                <UserRow key={u.id} user={u} isMe={u.id === myId} onDelete={setDeleting} />
              ))}
            </tbody>
          </table>
        )}
      </Panel>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete ${deleting?.username ?? ""}?`}
        confirmLabel="Delete user"
        busy={remove.isPending}
        onClose={() => setDeleting(null)}
        onConfirm={() => deleting && remove.mutate(deleting.id, { onSettled: () => setDeleting(null) })}
      >
        They are signed out at once and can no longer sign in. Their name stays in the audit trail and job history.
      </ConfirmDialog>
    </div>
  );
}
