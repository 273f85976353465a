"use client";
// Notification targets: add, change, delete; Send test, and the delivery log of the chosen one.
import { useState } from "react";
import { Button } from "@/app/components/button";
import { ConfirmDialog } from "@/app/components/confirm-dialog";
import { formatDateTime } from "@/app/components/format";
import { TablePanel, type PanelRows } from "@/app/components/table-panel";
import { useNotificationMutations, useNotifications } from "@/lib/queries/use-notifications";
import type { Delivery, Notification } from "@/lib/queries/use-notifications";
import { td } from "@/app/components/data-table";
import { FormOutcome } from "@/app/components/form";
import { DeliveryLog } from "./delivery-log";
import { EVENT_LABELS, NotificationForm } from "./notification-form";
import { ACTIONS } from "../../components/data-table";

function events(n: Notification): string {
  return n.on
    .map((e) => (e === "stale_vm" ? `no good backup for ${n.staleAfterHours ?? "?"} h` : EVENT_LABELS[e].toLowerCase()))
    .join(", ");
}

/** What Send test found. */
function testOutcome(d: Delivery): string {
  if (d.status === "delivered") return `Test delivered (${d.statusCode ?? "ok"})`;
  return `Test not delivered: ${d.error ?? d.status}${d.nextAttemptAt ? "; it is retried" : ""}`;
}

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
        <FormOutcome
          small
          error={test.error}
          done={result && testOutcome(result)}
          doneBadly={result?.status !== "delivered"}
          testId="notification-test-result"
        />
      </td>
    </tr>
  );
}

/** The targets; each row's buttons act on the page's state (`row` is set there). */
const TARGETS: Omit<PanelRows<{ items: Notification[] }, Notification>, "row"> = {
  noun: "notifications",
  columns: ["Name and URL", "Format", "Events", "Created", ACTIONS],
  rowsOf: (data) => data.items,
  empty: <p className="p-4 text-sm text-slate-500">No notifications yet: nobody is told when a backup fails.</p>,
};

export function NotificationsAdmin() {
  const list = useNotifications();
  const { remove } = useNotificationMutations();
  const [editing, setEditing] = useState<Notification | null>(null);
  const [deleting, setDeleting] = useState<Notification | null>(null);
  const [logOf, setLogOf] = useState<string | null>(null);
  const logged = list.data?.items.find((n) => n.id === logOf) ?? null;
  const row = (n: Notification) => (
    <NotificationRow
      key={n.id}
      n={n}
      onEdit={() => setEditing(n)}
      onDelete={() => setDeleting(n)}
      onLog={() => setLogOf(n.id)}
    />
  );
  return (
    <div className="space-y-6">
      <NotificationForm key={editing?.id ?? "new"} editing={editing} onDone={() => setEditing(null)} />
      <TablePanel title="Targets" query={list} rows={{ ...TARGETS, row }} />
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
