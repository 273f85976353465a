"use client";
// The delivery log of one notification target: newest first, with the receiver's status code,
// the attempts so far and, while a retry is due, when it comes.
import { formatDateTime } from "@/app/components/format";
import { Panel } from "@/app/components/panel";
import { QueryError } from "@/app/components/query-error";
import { StatusBadge, type Tone } from "@/app/components/status-badge";
import { useDeliveries, type Delivery, type Notification } from "@/lib/queries/use-notifications";
import { td, th } from "@/app/components/data-table";

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

export function DeliveryLog({ notification, onClose }: { notification: Notification; onClose: () => void }) {
  const log = useDeliveries(notification.id);
  return (
    <Panel
      title={`Deliveries of “${notification.name}”`}
      description="The latest 50, newest first. Pending ones are retried with backoff."
      actions={
        <button type="button" onClick={onClose} className="text-xs text-sky-700 hover:underline dark:text-sky-400">
          Close
        </button>
      }
      bodyClassName="overflow-x-auto"
      testId="delivery-log"
    >
      {log.isError ? (
        <div className="p-4">
          <QueryError error={log.error} what="the deliveries" onRetry={() => log.refetch()} retrying={log.isFetching} />
        </div>
      ) : log.isPending ? (
        <p className="p-4 text-sm text-slate-500">Loading…</p>
      ) : log.data.items.length === 0 ? (
        <p className="p-4 text-sm text-slate-500">Nothing sent yet. Send test posts a test notice now.</p>
      ) : (
        <table className="w-full text-sm">
          <thead className="border-b border-slate-100 dark:border-slate-800">
            <tr>
              <th className={th}>Queued</th>
              <th className={th}>Event</th>
              <th className={th}>Status</th>
              <th className={th}>Answer</th>
              <th className={th}>Attempts</th>
              <th className={th}>Delivered, or why not</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
            {log.data.items.map((d) => (
              <tr key={d.id} data-testid="delivery-row" data-event={d.event} data-status={d.status}>
                <td className={`${td} whitespace-nowrap text-slate-500 dark:text-slate-400`}>
                  {formatDateTime(d.createdAt)}
                </td>
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
            ))}
          </tbody>
        </table>
      )}
    </Panel>
  );
}
