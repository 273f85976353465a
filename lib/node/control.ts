// Cross-node control through Postgres (issue 18, docs/decisions/030-cross-node-control.md): a
// request one node answers for a thing another node owns (cancel a job, stop an export, ...) is
// sent to the owner as a NOTIFY on one channel, and the owner's answer comes back the same way.
// Every node LISTENs on a dedicated connection (not one of Prisma's pool: a pooled connection
// that LISTENs would hand its notifications to whoever borrows it next) and keeps only the
// messages addressed to it. The owner runs the action with the same code a local request runs;
// its result or its domain error travels back as JSON and is answered as if it were local.
import "server-only";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { DomainError, conflict, isDomainError, type DomainErrorKind } from "@/lib/errors";
import type { Logger } from "@/lib/log";
import { firstLineOf, messageOf } from "@/lib/messages";

export const CONTROL_CHANNEL = "nbdhub_control";

/** How long a requester waits for an answer unless it says (an owner stops an export in seconds). */
const ANSWER_TIMEOUT_MS = 30_000;
/** Postgres refuses payloads of 8000 bytes or more; answers stay far below (ids, ports, flags). */
const MAX_PAYLOAD = 7900;

type ErrorShape = { kind: DomainErrorKind; code: string; message: string; details?: unknown };

export type ControlMessage =
  | { type: "request"; id: string; from: string; to: string; action: string; args: unknown }
  | { type: "answer"; id: string; from: string; to: string; result?: unknown; error?: ErrorShape };

/** The actions this node runs for others: each one is the local request's own code. */
export type ControlHandlers = Record<string, (args: never) => Promise<unknown>>;

export type ControlChannel = {
  /**
   * Run `action` on node `to` and return its result; its domain error is thrown here as it was
   * there. `timeoutMs` (default 30 s): how long to wait for the answer (a prune merges files).
   */
  ask(to: string, action: string, args: unknown, timeoutMs?: number): Promise<unknown>;
  stop(): Promise<void>;
};

type Pending = { resolve(value: unknown): void; reject(error: unknown): void; timer: NodeJS.Timeout };

/** Parse a notification's payload; anything that is not one of ours is ignored (null). */
export function parseMessage(payload: string | undefined): ControlMessage | null {
  if (!payload) return null;
  try {
    const m = JSON.parse(payload) as Partial<ControlMessage>;
    if ((m.type === "request" || m.type === "answer") && typeof m.id === "string" && typeof m.to === "string")
      return m as ControlMessage;
  } catch {
    // not ours
  }
  return null;
}

/** A domain error as it travels; any other error becomes a plain "unavailable" there. */
export function errorShape(error: unknown): ErrorShape {
  if (isDomainError(error))
    return { kind: error.kind, code: error.code, message: error.message, details: error.details };
  return { kind: "unavailable", code: "node_error", message: firstLineOf(messageOf(error)) };
}

export async function startControlChannel(deps: {
  databaseUrl: string;
  node: string;
  handlers: ControlHandlers;
  log: Logger;
}): Promise<ControlChannel> {
  const { node, handlers, log } = deps;
  const pending = new Map<string, Pending>();
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;

  async function connect(): Promise<void> {
    const c = new pg.Client({ connectionString: deps.databaseUrl, application_name: `nbdhub-control-${node}` });
    c.on("notification", (n) => {
      if (n.channel === CONTROL_CHANNEL) void receive(parseMessage(n.payload));
    });
    const lost = (error?: unknown) => {
      if (client !== c) return;
      client = undefined;
      if (!stopped) log.warn("the control channel's connection ended; reconnecting", { error: firstLineOf(error) });
      c.end().catch(() => undefined);
      scheduleReconnect();
    };
    c.on("error", lost);
    c.on("end", () => lost("connection closed"));
    await c.connect();
    await c.query(`LISTEN ${CONTROL_CHANNEL}`);
    client = c;
  }

  function scheduleReconnect(): void {
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      connect().catch(() => scheduleReconnect());
    }, 1000);
    retry.unref();
  }

  async function send(message: ControlMessage): Promise<void> {
    const payload = JSON.stringify(message);
    if (payload.length > MAX_PAYLOAD) throw new Error(`control message too large (${payload.length} bytes)`);
    if (!client) throw new Error("the control channel is not connected");
    await client.query("SELECT pg_notify($1, $2)", [CONTROL_CHANNEL, payload]);
  }

  async function receive(m: ControlMessage | null): Promise<void> {
    if (!m || m.to !== node) return;
    if (m.type === "answer") {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.error) p.reject(new DomainError(m.error.kind, m.error.code, m.error.message, m.error.details));
      else p.resolve(m.result);
      return;
    }
    const handler = handlers[m.action] as ((args: unknown) => Promise<unknown>) | undefined;
    let answer: ControlMessage;
    try {
      if (!handler) throw conflict("unknown_action", `node "${node}" does not know the action "${m.action}"`);
      log.info(`node ${m.from} asked for ${m.action}`, { from: m.from, action: m.action, args: m.args });
      const result = await handler(m.args);
      answer = { type: "answer", id: m.id, from: node, to: m.from, result };
    } catch (error) {
      answer = { type: "answer", id: m.id, from: node, to: m.from, error: errorShape(error) };
    }
    await send(answer)
      .catch((error: unknown) => {
        // An answer too large to travel (a long preview): the requester hears why, not a timeout.
        if (!answer.result) throw error;
        const message = `node "${node}"'s answer to ${m.action} is too large to send (${firstLineOf(error)})`;
        const tooLarge: ErrorShape = { kind: "unavailable", code: "answer_too_large", message };
        return send({ type: "answer", id: m.id, from: node, to: m.from, error: tooLarge });
      })
      .catch((error: unknown) =>
        log.warn(`could not answer node ${m.from}'s ${m.action}`, { error: firstLineOf(error) }),
      );
  }

  await connect();
  log.info(`listening for other nodes' requests on ${CONTROL_CHANNEL}`);

  return {
    ask(to, action, args, timeoutMs = ANSWER_TIMEOUT_MS) {
      const id = randomUUID();
      return new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(
            new DomainError("timeout", "node_no_answer", `node "${to}" did not answer ${action} in time`, {
              node: to,
            }),
          );
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
        send({ type: "request", id, from: node, to, action, args }).catch((error: unknown) => {
          pending.delete(id);
          clearTimeout(timer);
          reject(
            new DomainError(
              "unavailable",
              "control_unavailable",
              `could not reach node "${to}": ${firstLineOf(error)}`,
            ),
          );
        });
      });
    },
    async stop() {
      stopped = true;
      clearTimeout(retry);
      for (const [id, p] of pending) {
        clearTimeout(p.timer);
        p.reject(new DomainError("unavailable", "shutting_down", "the server is shutting down"));
        pending.delete(id);
      }
      await client?.end().catch(() => undefined);
      client = undefined;
    },
  };
}
