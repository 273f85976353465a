"use client";
// The delivery log of one notification target: newest first, with the receiver's status code,
// the attempts so far and, while a retry is due, when it comes.
import { td, tdMuted } from "@/app/components/data-table";
import { formatDateTime } from "@/app/components/format";
import { StatusBadge, type Tone } from "@/app/components/status-badge";
import { TablePanel, type PanelRows } from "@/app/components/table-panel";
import { useDeliveries, type Delivery, type Notification } from "@/lib/queries/use-notifications";

const TONE: Record<Delivery["status"], Tone> = { pending: "busy", delivered: "success", failed: "danger" };

const EVENT_NAMES: Record<string, string> = {
  failed: "job failed",
  completed: "job completed",
  stale_vm: "no good backup",
  test: "test",
};

function Outcome({ delivery }: { delivery: Delivery }) {
  if (delivery.status === "delivered") return <>{formatDateTime(delivery.deliveredAt)}</>;
  return (
    <span className="text-rose-700 dark:text-rose-300">
      {delivery.error ?? "not yet"}
      {delivery.nextAttemptAt ? (
        <span className="block text-xs text-slate-500 dark:text-slate-400">
          next try {formatDateTime(delivery.nextAttemptAt)}
        </span>
      ) : null}
    </span>
  );
}

const DELIVERIES: PanelRows<{ items: Delivery[] }, Delivery> = {
  noun: "deliveries",
  columns: ["Queued", "Event", "Status", "Answer", "Attempts", "Delivered, or why not"],
  rowsOf: (data) => data.items,
  row: (d) => (
    <tr key={d.id} data-testid="delivery-row" data-event={d.event} data-status={d.status}>
      <td className={tdMuted}>{formatDateTime(d.createdAt)}</td>
      <td className={td}>{EVENT_NAMES[d.event] ?? d.event}</td>
      <td className={td}>
        <StatusBadge status={d.status} tone={TONE[d.status]} testId="delivery-status" />
      </td>
      <td className={`${td} tabular-nums`} data-testid="delivery-code">
        {d.statusCode ?? "—"}
      </td>
      <td className={`${td} tabular-nums`}>{d.attempts}</td>
      <td className={td}>
        <Outcome delivery={d} />
      </td>
    </tr>
  ),
  empty: <p className="p-4 text-sm text-slate-500">Nothing sent yet. Send test posts a test notice now.</p>,
};

export function DeliveryLog({ notification, onClose }: { notification: Notification; onClose: () => void }) {
  return (
    <TablePanel
      title={`Deliveries of “${notification.name}”`}
      description="The latest 50, newest first. Pending ones are retried with backoff."
      actions={
        <button type="button" onClick={onClose} className="text-xs text-sky-700 hover:underline dark:text-sky-400">
          Close
        </button>
      }
      testId="delivery-log"
      query={useDeliveries(notification.id)}
      rows={DELIVERIES}
    />
  );
}
