"use client";
// Notification targets: add, change, delete; Send test, and the delivery log of the chosen one.
import { useState } from "react";
import { Button } from "@/app/components/button";
import { ConfirmDialog } from "@/app/components/confirm-dialog";
import { formatDateTime } from "@/app/components/format";
import { Panel } from "@/app/components/panel";
import { QueryError } from "@/app/components/query-error";
import { useNotificationMutations, useNotifications } from "@/lib/queries/use-notifications";
import type { Delivery, Notification } from "@/lib/queries/use-notifications";
import { td, th } from "@/app/components/data-table";
import { errorText } from "@/app/components/form";
import { DeliveryLog } from "./delivery-log";
import { EVENT_LABELS, NotificationForm } from "./notification-form";

function events(n: Notification): string {
  return n.on
    .map((e) => (e === "stale_vm" ? `no good backup for ${n.staleAfterHours ?? "?"} h` : EVENT_LABELS[e].toLowerCase()))
    .join(", ");
}

const tone = (d: Delivery) =>
  d.status === "delivered" ? "text-emerald-700 dark:text-emerald-300" : "text-rose-700 dark:text-rose-300";

function NotificationRow({
  n,
  onEdit,
  onDelete,
  onLog,
}: {
  n: Notification;
  onEdit: () => void;
  onDelete: () => void;
  onLog: () => void;
}) {
  const { test } = useNotificationMutations();
  const result = test.data;
  return (
    <tr data-testid="notification-row" data-notification-name={n.name}>
      <td className={td}>
        <span className="font-medium">{n.name}</span>
        <span className="block font-mono text-xs text-slate-500 dark:text-slate-400" data-testid="notification-url">
          {n.url}
        </span>
      </td>
      <td className={td}>{n.kind === "slack" ? "Slack" : "JSON webhook"}</td>
      <td className={td}>{events(n)}</td>
      <td className={`${td} whitespace-nowrap text-slate-500 dark:text-slate-400`}>
        {formatDateTime(n.createdAt)}
        {n.createdBy ? <span className="block text-xs">by {n.createdBy}</span> : null}
      </td>
      <td className={`${td} text-right`}>
        <div className="flex flex-wrap justify-end gap-1">
          <Button
            size="sm"
            busy={test.isPending}
            onClick={() => test.mutate(n.id, { onSettled: onLog })}
            data-testid="notification-test"
          >
            Send test
          </Button>
          <Button size="sm" variant="ghost" onClick={onLog}>
            Delivery log
          </Button>
          <Button size="sm" variant="ghost" onClick={onEdit}>
            Edit
          </Button>
          <Button size="sm" variant="ghost" className="text-rose-700 dark:text-rose-300" onClick={onDelete}>
            Delete
          </Button>
        </div>
        {test.isError ? (
          <p role="alert" className="mt-1 text-xs text-rose-700 dark:text-rose-300">
            {errorText(test.error)}
          </p>
        ) : result ? (
          <p role="status" data-testid="notification-test-result" className={`mt-1 text-xs ${tone(result)}`}>
            {result.status === "delivered"
              ? `Test delivered (${result.statusCode ?? "ok"})`
              : `Test not delivered: ${result.error ?? result.status}${result.nextAttemptAt ? "; it is retried" : ""}`}
          </p>
        ) : null}
      </td>
    </tr>
  );
}

export function NotificationsAdmin() {
  const list = useNotifications();
  const { remove } = useNotificationMutations();
  const [editing, setEditing] = useState<Notification | null>(null);
  const [deleting, setDeleting] = useState<Notification | null>(null);
  const [logOf, setLogOf] = useState<string | null>(null);
  const items = list.data?.items ?? [];
  const logged = items.find((n) => n.id === logOf) ?? null;
  return (
    <div className="space-y-6">
      <NotificationForm key={editing?.id ?? "new"} editing={editing} onDone={() => setEditing(null)} />
      <Panel title="Targets" bodyClassName="overflow-x-auto">
        {list.isError ? (
          <div className="p-4">
            <QueryError
              error={list.error}
              what="the notifications"
              onRetry={() => list.refetch()}
              retrying={list.isFetching}
            />
          </div>
        ) : list.isPending ? (
          <p className="p-4 text-sm text-slate-500">Loading…</p>
        ) : items.length === 0 ? (
          <p className="p-4 text-sm text-slate-500">No notifications yet: nobody is told when a backup fails.</p>
        ) : (
          <table className="w-full text-sm" data-testid="notifications-table">
            <thead className="border-b border-slate-100 dark:border-slate-800">
              <tr>
                <th className={th}>Name and URL</th>
                <th className={th}>Format</th>
                <th className={th}>Events</th>
                <th className={th}>Created</th>
                <th className={th}>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {items.map((n) => (
                <NotificationRow
                  key={n.id}
                  n={n}
                  onEdit={() => setEditing(n)}
                  onDelete={() => setDeleting(n)}
                  onLog={() => setLogOf(n.id)}
                />
              ))}
            </tbody>
          </table>
        )}
      </Panel>
      {logged ? <DeliveryLog notification={logged} onClose={() => setLogOf(null)} /> : null}
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete “${deleting?.name ?? ""}”?`}
        confirmLabel="Delete notification"
        busy={remove.isPending}
        onClose={() => setDeleting(null)}
        onConfirm={() =>
          deleting &&
          remove.mutate(deleting.id, {
            onSettled: () => {
              if (editing?.id === deleting.id) setEditing(null);
              setDeleting(null);
            },
          })
        }
      >
        Nothing more is posted to it, and its delivery log goes with it.
      </ConfirmDialog>
    </div>
  );
}
