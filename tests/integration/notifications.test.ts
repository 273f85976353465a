// Issue 16, "Notifications": a local HTTP receiver gets the failure notice of a failed job; a
// 500 from it is retried and then delivered; the stale-VM notice arrives. The URL is a secret:
// masked in every answer, never in the log or the audit trail.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { badMoverDir } from "../helpers/bad-mover";
import { makeImage } from "../helpers/images";
import { ServerFleet } from "../helpers/server-fleet";
import { waitFor } from "../helpers/wait";

type Received = { path: string; body: Record<string, unknown> };
type Delivery = { event: string; status: string; attempts: number; statusCode: number | null; error: string | null };

const fleet = new ServerFleet("notify");
const receivers: Server[] = [];
afterAll(async () => {
  for (const r of receivers) await new Promise((resolve) => r.close(resolve));
  await fleet.end();
});

/** A receiver that answers 500 to the first post of event `failFirst`, 200 to all else; it keeps what it got. */
async function receiver(failFirst: string) {
  const got: Received[] = [];
  let posts = 0;
  let refused = 0;
  const server = createServer((req: IncomingMessage, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => {
      posts += 1;
      const body = JSON.parse(text) as Record<string, unknown>;
      if (body.event === failFirst && refused === 0) {
        refused += 1;
        res.writeHead(500).end("not now");
        return;
      }
      got.push({ path: req.url ?? "", body });
      res.writeHead(200).end("ok");
    });
  });
  receivers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, got, posts: () => posts, refused: () => refused };
}

describe("notifications", () => {
  const title = "deliver a failed job's notice after a 500, and the stale-VM notice; the URL stays secret";
  it(title, { timeout: 120_000 }, async () => {
    const bin = await badMoverDir("target");
    const server = await fleet.start(
      { PATH: `${bin}:${process.env.PATH}`, NBDHUB_STALE_CHECK_SECONDS: "1", NBDHUB_DEMO_SOURCES: "0" },
      { ports: 2 },
    );
    await makeImage(path.join(server.dataDir, "sources", "disk.img"), { sizeMiB: 8, randomMiB: 2 });
    const hook = await receiver("failed");
    const secretPath = "/hooks/T0SECRET/B0SECRET/xyzzy-secret-token";

    const created = await server.api<{ id: string; url: string }>("POST", "/notifications", {
      name: "ops",
      url: `${hook.url}${secretPath}`,
      kind: "webhook",
      on: ["failed", "stale_vm"],
      staleAfterHours: 0.001,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.url).toBe(`${hook.url}/…`);

    // A job that fails (its target is damaged after the copy: verification fails).
    const job = await server.api<{ id: string }>("POST", "/backups", {
      vmName: "notify-vm",
      type: "full",
      disks: [{ source: "disk.img" }],
    });
    expect(job.status).toBe(202);

    const failure = await waitFor(async () => hook.got.find((g) => g.body.event === "failed"), {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: "the failure notice to arrive",
    });
    expect(failure.path).toBe(secretPath);
    expect(failure.body).toMatchObject({
      event: "failed",
      job: { id: job.body.id, vmName: "notify-vm", status: "failed" },
    });
    expect(String(failure.body.link)).toContain(`/jobs/${job.body.id}`);
    expect(hook.refused(), "the first post of the failure was answered 500, so it was retried").toBe(1);

    const stale = await waitFor(async () => hook.got.find((g) => g.body.event === "stale_vm"), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: "the stale-VM notice to arrive",
    });
    expect(String(stale.body.text)).toMatch(/no good backup of VM notify-vm/);

    const deliveries = await server.api<{ items: Delivery[] }>("GET", `/notifications/${created.body.id}/deliveries`);
    const failed = deliveries.body.items.find((d) => d.event === "failed");
    expect(failed).toMatchObject({ status: "delivered", statusCode: 200 });
    expect(failed?.attempts).toBeGreaterThanOrEqual(2);

    // Send test: delivered at once, in the log.
    const test = await server.api<Delivery>("POST", `/notifications/${created.body.id}/test`);
    expect(test.status).toBe(200);
    expect(test.body).toMatchObject({ event: "test", status: "delivered", statusCode: 200, attempts: 1 });

    // Sent once per stale period, not once per check (several checks ran by now: one a second).
    const all = await server.api<{ items: Delivery[] }>("GET", `/notifications/${created.body.id}/deliveries`);
    expect(all.body.items.filter((d) => d.event === "stale_vm")).toHaveLength(1);
    expect(hook.got.filter((g) => g.body.event === "stale_vm")).toHaveLength(1);

    // The URL's secret part is nowhere to be read.
    const list = await server.api<{ items: { url: string }[] }>("GET", "/notifications");
    expect(JSON.stringify(list.body)).not.toContain("xyzzy-secret-token");
    const audit = await server.api("GET", "/audit?limit=200");
    expect(JSON.stringify(audit.body)).not.toContain("xyzzy-secret-token");
    expect(server.output()).not.toContain("xyzzy-secret-token");

    // Refused: other schemes.
    const bad = await server.api<{ error: { code: string } }>("POST", "/notifications", {
      name: "x",
      url: "file:///etc/passwd",
      kind: "webhook",
      on: ["failed"],
    });
    expect(bad.status).toBe(422);

    // Edited (the console's form): a new URL replaces the secret and is masked like the first.
    const newPath = "/hooks/rotated/plugh-secret-token";
    const edited = await server.api<{ name: string; url: string; on: string[] }>(
      "PATCH",
      `/notifications/${created.body.id}`,
      { name: "ops-2", url: `${hook.url}${newPath}`, on: ["failed"] },
    );
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect(edited.body).toMatchObject({ name: "ops-2", url: `${hook.url}/…`, on: ["failed"] });
    const retest = await server.api<Delivery>("POST", `/notifications/${created.body.id}/test`);
    expect(retest.body).toMatchObject({ event: "test", status: "delivered", statusCode: 200 });
    expect(hook.got.at(-1)?.path, "the test went to the new URL").toBe(newPath);
    // A bad change is refused and changes nothing.
    const badEdit = await server.api<{ error: { details: Record<string, string> } }>(
      "PATCH",
      `/notifications/${created.body.id}`,
      { name: "ops-3", url: "ftp://example.com/x" },
    );
    expect(badEdit.status).toBe(422);
    expect(badEdit.body.error.details.url).toMatch(/http/);
    const after = await server.api<{ items: { name: string }[] }>("GET", "/notifications");
    expect(after.body.items.map((n) => n.name)).toEqual(["ops-2"]);
    expect((await server.api("PATCH", "/notifications/ntf-nope", { name: "x" })).status).toBe(404);
    expect((await server.api("PATCH", `/notifications/${created.body.id}`, {})).status).toBe(422);
    const audit2 = await server.api("GET", "/audit?limit=200");
    expect(JSON.stringify(audit2.body)).not.toContain("plugh-secret-token");
    expect(server.output()).not.toContain("plugh-secret-token");
  });
});
