// The notifier of one server process: it turns ended jobs and stale VMs into deliveries, and
// delivers them with retries. Deliveries are rows: an event is queued once per notification
// (UNIQUE (notification_id, event_key): whichever process sees it first), and a delivery is
// claimed (locked_until, FOR UPDATE SKIP LOCKED) before it is sent, so two processes on one
// database do not send it twice. A failed attempt is tried again after 5 s, 30 s, 2 min and
// 10 min; after the fifth attempt it stays failed. The URL never reaches a log line.
import "server-only";
import { randomBytes } from "node:crypto";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import { messageOf } from "@/lib/messages";
import type { Notification as Row, Prisma } from "@/lib/generated/prisma/client";
import type { Logger } from "@/lib/log";
import { postJson, type SendResult } from "./send";
import { DEFAULT_STALE_HOURS, deliveryView, notificationRow } from "./store";
import type { DeliveryView, NotifyEvent } from "./types";

/** Seconds to wait before attempt 2, 3, 4, 5. */
export const RETRY_AFTER_SECONDS = [5, 30, 120, 600];
const MAX_ATTEMPTS = RETRY_AFTER_SECONDS.length + 1;
const TICK_MS = 2000;
const CLAIM_MS = 60_000;
/** Ended jobs looked at on the first pass after a start (later passes: since the previous one). */
const FIRST_LOOK_BACK_MS = 15 * 60_000;

type Deps = { db: Db; config: Config; log: Logger };

type JobSummary = {
  id: string;
  vmName: string;
  type: string;
  status: string;
  error: string | null;
  requestedBy: string | null;
  finishedAt: Date | null;
  totalBytes: bigint;
};

type Message = { event: NotifyEvent | "test"; key: string; text: string; fields: Record<string, unknown> };

function payloadOf(n: Row, m: Message): Prisma.InputJsonValue {
  if (n.kind === "slack") return { text: m.text };
  return { event: m.event, at: new Date().toISOString(), text: m.text, ...m.fields } as Prisma.InputJsonValue;
}

function jobMessage(config: Config, job: JobSummary): Message {
  const event: NotifyEvent = job.status === "completed" ? "completed" : "failed";
  const link = `${config.publicUrl}/jobs/${encodeURIComponent(job.id)}`;
  const text =
    event === "completed"
      ? `nbdhub: ${job.type} backup of ${job.vmName} completed (job ${job.id}). ${link}`
      : `nbdhub: ${job.type} backup of ${job.vmName} failed: ${job.error ?? "no reason given"} (job ${job.id}). ${link}`;
  return {
    event,
    key: `job:${job.id}:${job.status}`,
    text,
    fields: {
      job: {
        id: job.id,
        vmName: job.vmName,
        type: job.type,
        status: job.status,
        error: job.error,
        requestedBy: job.requestedBy,
        finishedAt: job.finishedAt?.toISOString() ?? null,
        totalBytes: Number(job.totalBytes),
      },
      link,
    },
  };
}

export class Notifier {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private lastScan = new Date(Date.now() - FIRST_LOOK_BACK_MS);
  private lastStaleCheck = 0;
  private failing = false;

  constructor(private readonly deps: Deps) {}

  start(): void {
    this.timer = setInterval(() => {
      if (!this.ticking) this.ticking = this.tick().finally(() => (this.ticking = undefined));
    }, TICK_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
  }

  private async tick(): Promise<void> {
    try {
      await this.queueEndedJobs();
      if (Date.now() - this.lastStaleCheck >= this.deps.config.staleCheckSeconds * 1000) {
        this.lastStaleCheck = Date.now();
        await this.queueStaleVms();
      }
      await this.deliverDue();
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.deps.log.warn("notification pass failed", { error: messageOf(error).split("\n")[0] });
      this.failing = true;
    }
  }

  /** Queue a delivery; `lockedUntil` queues it already claimed, so no pass sends it meanwhile. */
  private async queue(n: Row, m: Message, lockedUntil?: Date): Promise<void> {
    await this.deps.db.notificationDelivery.createMany({
      data: [{ notificationId: n.id, event: m.event, eventKey: m.key, payload: payloadOf(n, m), lockedUntil }],
      skipDuplicates: true,
    });
  }

  private async subscribed(event: NotifyEvent): Promise<Row[]> {
    const rows = await this.deps.db.notification.findMany();
    return rows.filter((r) => Array.isArray(r.events) && (r.events as unknown[]).includes(event));
  }

  /** Jobs that ended since the last pass (with a margin for commits that raced it). */
  private async queueEndedJobs(): Promise<void> {
    const { db, config } = this.deps;
    const from = new Date(this.lastScan.getTime() - 60_000);
    const now = new Date();
    const notifications = [...(await this.subscribed("failed")), ...(await this.subscribed("completed"))];
    if (notifications.length === 0) {
      this.lastScan = now;
      return;
    }
    const jobs = await db.backupJob.findMany({
      // A cancel is someone's decision, not a failure: it is not notified.
      where: { status: { in: ["completed", "failed"] }, finishedAt: { gte: from } },
      select: {
        id: true,
        vmName: true,
        type: true,
        status: true,
        error: true,
        requestedBy: true,
        finishedAt: true,
        totalBytes: true,
      },
    });
    for (const job of jobs) {
      const m = jobMessage(config, job);
      for (const n of notifications) {
        if (!(n.events as unknown[]).includes(m.event)) continue;
        // A notification hears of what ended after it was made.
        if (job.finishedAt && job.finishedAt < n.createdAt) continue;
        await this.queue(n, m);
      }
    }
    this.lastScan = now;
  }

  /** "No good backup of VM X for N hours": once per stale period (the key names the last good job). */
  private async queueStaleVms(): Promise<void> {
    const { db, config } = this.deps;
    const notifications = await this.subscribed("stale_vm");
    if (notifications.length === 0) return;
    const vms = await db.backupJob.groupBy({ by: ["vmName"], _min: { createdAt: true } });
    const good = await db.backupJob.groupBy({
      by: ["vmName"],
      where: { status: "completed" },
      _max: { finishedAt: true },
    });
    const lastGood = new Map(good.map((g) => [g.vmName, g._max.finishedAt]));
    const now = Date.now();
    for (const vm of vms) {
      const last = lastGood.get(vm.vmName) ?? null;
      const since = last ?? vm._min.createdAt;
      if (!since) continue;
      for (const n of notifications) {
        const hours = n.staleAfterHours ?? DEFAULT_STALE_HOURS;
        if (now - since.getTime() < hours * 3_600_000) continue;
        const age = ((now - since.getTime()) / 3_600_000).toFixed(1);
        const text = last
          ? `nbdhub: no good backup of VM ${vm.vmName} for ${age} hours (the last completed at ${last.toISOString()})`
          : `nbdhub: no good backup of VM ${vm.vmName} for ${age} hours (none ever completed)`;
        await this.queue(n, {
          event: "stale_vm",
          key: `stale_vm:${vm.vmName}:${last?.toISOString() ?? "never"}`,
          text,
          fields: {
            vm: { vmName: vm.vmName, lastGoodBackupAt: last?.toISOString() ?? null, staleAfterHours: hours },
            link: `${config.publicUrl}/jobs`,
          },
        });
      }
    }
  }

  /** Claim the due deliveries (one process each) and send them. */
  private async deliverDue(): Promise<void> {
    const { db } = this.deps;
    const until = new Date(Date.now() + CLAIM_MS);
    const claimed = await db.$queryRaw<{ id: bigint }[]>`
      UPDATE notification_deliveries SET locked_until = ${until}
       WHERE id IN (SELECT id FROM notification_deliveries
                     WHERE status = 'pending' AND next_attempt_at <= now()
                       AND (locked_until IS NULL OR locked_until < now())
                     ORDER BY id LIMIT 20 FOR UPDATE SKIP LOCKED)
      RETURNING id`;
    for (const { id } of claimed) await this.attempt(id);
  }

  private async attempt(id: bigint): Promise<DeliveryView> {
    const { db, log } = this.deps;
    const row = await db.notificationDelivery.findUniqueOrThrow({ where: { id }, include: { notification: true } });
    const result: SendResult = await postJson(row.notification.url, row.payload).catch((error: unknown) => ({
      ok: false,
      statusCode: null,
      error: messageOf(error),
    }));
    const attempts = row.attempts + 1;
    const retryIn = RETRY_AFTER_SECONDS[attempts - 1];
    const status = result.ok ? "delivered" : attempts >= MAX_ATTEMPTS ? "failed" : "pending";
    const updated = await db.notificationDelivery.update({
      where: { id },
      data: {
        attempts,
        status,
        statusCode: result.statusCode,
        error: result.error,
        lockedUntil: null,
        deliveredAt: result.ok ? new Date() : null,
        nextAttemptAt: status === "pending" ? new Date(Date.now() + retryIn * 1000) : null,
      },
    });
    const what = {
      notification: row.notification.name,
      event: row.event,
      attempt: attempts,
      status: result.statusCode ?? undefined,
    };
    const again = status === "pending" ? `: again in ${retryIn} s` : "";
    if (result.ok) log.info("notification delivered", what);
    else log.warn(`notification not delivered (${result.error})${again}`, what);
    return deliveryView(updated);
  }

  /** Send test: queued like any event, and tried once now; the answer says how it went. */
  async sendTest(notificationId: string, by: string): Promise<DeliveryView> {
    const n = await notificationRow(this.deps.db, notificationId);
    const key = `test:${randomBytes(6).toString("hex")}`;
    // Queued already claimed: claimed after the insert, a pass in between could send it too.
    const message: Message = {
      event: "test",
      key,
      text: `nbdhub: test notice for "${n.name}", sent by ${by}`,
      fields: { test: true, sentBy: by, link: this.deps.config.publicUrl },
    };
    await this.queue(n, message, new Date(Date.now() + CLAIM_MS));
    const row = await this.deps.db.notificationDelivery.findUniqueOrThrow({
      where: { notificationId_eventKey: { notificationId, eventKey: key } },
    });
    return this.attempt(row.id);
  }
}
