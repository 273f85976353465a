"use client";
// Users: add one, change a role, disable or enable, reset a password, delete. The server
// refuses changes that would leave no enabled admin; its message is shown as is.
import { useState } from "react";
import { Button } from "@/app/components/button";
import { RemoveRowButton } from "@/app/components/confirm-button";
import { td, tdMuted } from "@/app/components/data-table";
import { errorText, Form, FormOutcome, Select, TextInput, type FormValues } from "@/app/components/form";
import { formatDateTime } from "@/app/components/format";
import { TablePanel, type PanelRows } from "@/app/components/table-panel";
import { PASSWORD_MIN, type UserListView, type UserView } from "@/lib/api/schemas/auth";
import { ROLES, type Role } from "@/lib/auth/roles";
import { useUserMutations, useUsers } from "@/lib/queries/use-users-and-tokens";
import { CreatePanel, type CreateForm } from "../create-panel";
import { ACTIONS } from "../../components/data-table";

const NEW_USER: CreateForm = {
  kind: "user",
  title: "Add a user",
  description: "They sign in with this name and password; they can be disabled or removed later.",
  submit: "Add user",
  fields: [
    { label: "User name", id: "new-username", name: "username", required: true, autoComplete: "off" },
    {
      label: "Password",
      id: "new-password",
      name: "password",
      type: "password",
      required: true,
      minLength: PASSWORD_MIN,
      autoComplete: "new-password",
    },
  ],
  defaultRole: "viewer",
};

export function CreateUser() {
  const made = (user: UserView) => <FormOutcome done={`Added ${user.username} (${user.role}).`} />;
  return <CreatePanel form={NEW_USER} creating={useUserMutations().create} made={made} />;
}

function ResetPassword({ user, onDone }: { user: UserView; onDone: () => void }) {
  const { update } = useUserMutations();
  async function submit(values: FormValues) {
    const ok = await update.mutateAsync({ id: user.id, patch: { password: values.text("password") } }).then(
      () => true,
      () => false,
    );
    if (ok) onDone();
  }
  return (
    <Form onSubmit={submit} className="mt-2 flex flex-wrap items-center gap-2">
      <label htmlFor={`pw-${user.id}`} className="sr-only">
        New password for {user.username}
      </label>
      <TextInput
        id={`pw-${user.id}`}
        name="password"
        type="password"
        required
        minLength={PASSWORD_MIN}
        placeholder="New password"
        autoComplete="new-password"
        className="max-w-56"
      />
      <Button type="submit" size="sm" variant="primary" busy={update.isPending}>
        Set password
      </Button>
      <Button size="sm" variant="ghost" onClick={onDone}>
        Cancel
      </Button>
      {update.isError ? (
        <span className="text-xs text-rose-700 dark:text-rose-300">{errorText(update.error)}</span>
      ) : null}
    </Form>
  );
}

function UserStatus({ user }: { user: UserView }) {
  if (user.disabled) return <span className="text-rose-700 dark:text-rose-300">disabled</span>;
  return <span className="text-emerald-700 dark:text-emerald-300">enabled</span>;
}

function UserRow({ user, isMe }: { user: UserView; isMe: boolean }) {
  const { update, remove } = useUserMutations();
  const [resetting, setResetting] = useState(false);
  const toggle = () => update.mutate({ id: user.id, patch: { disabled: !user.disabled } });
  return (
    <tr data-testid="user-row" data-username={user.username} className={user.disabled ? "opacity-60" : undefined}>
      <td className={td}>
        <span className="font-medium">{user.username}</span>
        {isMe ? <span className="ml-2 text-xs text-slate-500">(you)</span> : null}
        {resetting ? <ResetPassword user={user} onDone={() => setResetting(false)} /> : null}
        {update.isError ? (
          <p className="mt-1 text-xs text-rose-700 dark:text-rose-300">{errorText(update.error)}</p>
        ) : null}
      </td>
      <td className={td}>
        <label htmlFor={`role-${user.id}`} className="sr-only">
          Role of {user.username}
        </label>
        <Select
          id={`role-${user.id}`}
          data-testid="user-role"
          value={user.role}
          disabled={update.isPending}
          onChange={(e) => update.mutate({ id: user.id, patch: { role: e.target.value as Role } })}
          className="w-32"
          options={ROLES}
        />
      </td>
      <td className={td}>
        <UserStatus user={user} />
      </td>
      <td className={tdMuted}>{user.lastLoginAt ? formatDateTime(user.lastLoginAt) : "never"}</td>
      <td className={`${td} whitespace-nowrap text-right`}>
        <div className="flex justify-end gap-1">
          <Button size="sm" variant="ghost" onClick={() => setResetting(true)} data-testid="user-reset-password">
            Reset password
          </Button>
          {!isMe ? (
            <>
              <Button
                size="sm"
                variant="ghost"
                busy={update.isPending}
                onClick={toggle}
                data-testid="user-toggle-disabled"
              >
                {user.disabled ? "Enable" : "Disable"}
              </Button>
              <RemoveRowButton
                id={user.id}
                removing={remove}
                testId="user-delete"
                title={`Delete ${user.username}?`}
                confirmLabel="Delete user"
                consequence={DELETE_CONSEQUENCE}
              >
                Delete
              </RemoveRowButton>
            </>
          ) : null}
        </div>
      </td>
    </tr>
  );
}

const DELETE_CONSEQUENCE =
  "They are signed out at once and can no longer sign in. Their name stays in the audit trail and job history.";
/** The rows; each is drawn knowing who is signed in (`row` is set by UserList). */
const USERS: Omit<PanelRows<UserListView, UserView>, "row"> = {
  noun: "users",
  columns: ["User", "Role", "Status", "Last sign-in", ACTIONS],
  rowsOf: (data) => data.items,
};

export function UserList({ myId }: { myId: string }) {
  const rows = { ...USERS, row: (u: UserView) => <UserRow key={u.id} user={u} isMe={u.id === myId} /> };
  return <TablePanel title="Accounts" query={useUsers()} rows={rows} />;
}
