// A database outage on the real server (issue 11, item 20): routes that need the database
// answer 503 database_unavailable (never a 500), and the audit rows of the requests made
// meanwhile are kept and written once the database is back. The server has its own
// PostgreSQL here (tests/chaos/environment.ts), which the test stops and starts.
import pg from "pg";
import { describe, expect, it } from "vitest";
import { useChaosEnvironment } from "../helpers/chaos-fixture";
import { TEST_TOKEN } from "../helpers/server";
import { waitFor } from "../helpers/wait";

type AuditRow = {
  at: string;
  actor: string;
  action: string;
  result: string;
  status: number | null;
  details: Record<string, unknown> | null;
};

const env = useChaosEnvironment({ ports: 2, repoSizeMiB: 64, nbdSizesMiB: [], nbdRateBits: "1M" });

async function send(
  method: string,
  pathname: string,
  { body, token = TEST_TOKEN }: { body?: unknown; token?: string | null } = {},
) {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  else headers.origin = env.server!.url;
  const r = await fetch(`${env.server!.url}/api/v1${pathname}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return {
    status: r.status,
    retryAfter: r.headers.get("retry-after"),
    body: JSON.parse(text) as { error?: { code: string; message: string } },
  };
}

describe("a database outage", () => {
  it(
    "is answered 503 database_unavailable, and the audit rows of the outage are written when the database is back",
    { timeout: 180_000 },
    async () => {
      await env.stopPostgres();
      const down = Date.now();
      const answers = [
        await send("GET", "/backups"),
        await send("GET", "/nbd/ports"),
        await send("POST", "/nbd/ports/allocate", { body: { jobId: "outage-job", vmName: "vm", exportName: "vm-d0" } }),
        await send("POST", "/backups", {
          body: { vmName: "outage", type: "full", mover: "external", disks: [{ diskId: "d0", sizeBytes: 1048576 }] },
        }),
      ];
      for (const a of answers) {
        expect(a.status, JSON.stringify(a.body)).toBe(503);
        expect(a.body.error?.code).toBe("database_unavailable");
        expect(a.retryAfter).toBe("5");
      }
      // A request that needs no database still works, and its row is kept too.
      const logout = await send("POST", "/auth/logout", { token: null });
      expect(logout.status).toBe(200);
      const downUntil = Date.now();

      await env.startPostgres();
      const rows = await waitFor(
        async () => {
          const r = await send("GET", "/audit?limit=100");
          if (r.status !== 200) return undefined;
          const items = (r.body as unknown as { items: AuditRow[] }).items;
          const ofOutage = items.filter(
            (i) => new Date(i.at).getTime() >= down - 1000 && new Date(i.at).getTime() <= downUntil + 1000,
          );
          return ofOutage.length >= 3 ? ofOutage : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250, what: "the audit rows of the outage to be written" },
      );
      const allocate = rows.find((r) => r.action === "port.allocate");
      expect(allocate).toMatchObject({ result: "failed", status: 503 });
      expect(allocate?.details).toMatchObject({ code: "database_unavailable", unverifiedCredential: "bearer token" });
      expect(rows.find((r) => r.action === "backup.start")).toMatchObject({ status: 503 });
      expect(rows.find((r) => r.action === "auth.logout")).toMatchObject({ result: "allowed", status: 200 });

      // Nothing was done during the outage, and everything works again.
      expect((await env.sql(`SELECT count(*)::int AS n FROM port_allocations`))[0].n).toBe(0);
      expect((await env.sql(`SELECT count(*)::int AS n FROM backup_jobs`))[0].n).toBe(0);
      expect((await send("GET", "/backups")).status).toBe(200);
      expect(env.server!.output()).toMatch(/wrote \d+ audit rows kept while it was unreachable/);
    },
  );

  it(
    "a POST /backups whose job was created before the database went away answers 202, and its audit row says so",
    { timeout: 180_000 },
    async () => {
      // Hold the job's first event (job.created) behind a lock: the job row is committed, the
      // request is still working, and the test stops Postgres right then.
      const locker = new pg.Client({ connectionString: env.pgUrl });
      locker.on("error", () => undefined);
      await locker.connect();
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE job_events IN ACCESS EXCLUSIVE MODE");
      const vmName = "outage-after-insert";
      const answer = send("POST", "/backups", {
        body: { vmName, type: "full", mover: "external", disks: [{ diskId: "d0", sizeBytes: 1048576 }] },
      });
      const created = await waitFor(
        async () => (await env.sql<{ id: string }>(`SELECT id FROM backup_jobs WHERE vm_name = $1`, [vmName]))[0],
        { timeoutMs: 30_000, intervalMs: 20, what: "the job row to be committed" },
      );
      const sentAt = Date.now();
      await env.stopPostgres();
      const r = await answer;
      await locker.end().catch(() => undefined);
      await env.startPostgres();

      // The job exists: the request was accepted, whatever the database did after the insert.
      expect(r.status, `${JSON.stringify(r.body)}\n${env.server!.output().slice(-3000)}`).toBe(202);
      expect((r.body as unknown as { id: string }).id).toBe(created.id);
      const row = await waitFor(
        async () => {
          const a = await send("GET", `/audit?action=backup.start&from=${new Date(sentAt - 60_000).toISOString()}`);
          if (a.status !== 200) return undefined;
          const items = (a.body as unknown as { items: (AuditRow & { target: string | null })[] }).items;
          return items.find((i) => i.target === `vmName=${vmName}`);
        },
        { timeoutMs: 30_000, intervalMs: 250, what: "the backup.start audit row of the accepted request" },
      );
      expect(row).toMatchObject({ result: "allowed", status: 202 });

      // The queue's sync with Postgres picks the job up; cancel it and leave nothing behind.
      await waitFor(
        async () => {
          const c = await send("POST", `/backups/${created.id}/cancel`);
          return c.status === 202 || c.status === 409 ? c : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500, what: "the job to take a cancel" },
      );
      await waitFor(async () => (await env.sql(`SELECT port FROM port_allocations`)).length === 0 || undefined, {
        timeoutMs: 30_000,
        what: "the job's ports to be released",
      });
    },
  );
});
