// Issue 19: a copy that stops moving. A backup of a slow nbdkit source is started through the
// API, then its mover (nbdcopy) is stopped with SIGSTOP: the job's page shows the disk
// "stalled for N s" within the stall time plus 5 s, then the job failed with the reason
// ("no progress for N s (mover pid P)") by the fail time plus 5 s, and the stopped mover is gone.
// The same for a copy restore into a slow NBD destination, on the restore's page.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import type { APIRequestContext } from "@playwright/test";
import { processesOf } from "../helpers/processes";
import { adminAuth as auth, expect, test } from "./fixtures";
import { E2E_STALL, E2E_STATE } from "./global-setup";

type Job = { status: string };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

test("a stopped mover shows stalled on the job page, then the job fails naming it", async ({ page, request }) => {
  const port = await freePort();
  const nbdkit = spawn(
    "nbdkit",
    ["--exit-with-parent", "-f", "-i", "127.0.0.1", "-p", String(port), "--filter=rate", "pattern", "2G", "rate=32M"],
    { stdio: "ignore" },
  );
  try {
    const uri = `nbd://127.0.0.1:${port}/`;
    await expect.poll(async () => (await request.get("/api/v1/health")).status()).toBe(200);
    const vmName = `e2e-stall-${Date.now().toString(36)}`;
    // nbdkit may need a moment to listen: the start is retried until the source answers.
    let jobId = "";
    await expect
      .poll(
        async () => {
          const r = await request.post("/api/v1/backups", {
            headers: auth,
            data: { vmName, type: "full", disks: [{ source: uri }] },
          });
          if (r.status() === 202) jobId = ((await r.json()) as { id: string }).id;
          return r.status();
        },
        { timeout: 15_000 },
      )
      .toBe(202);

    const { dataDir } = JSON.parse(readFileSync(E2E_STATE, "utf8")) as { dataDir: string };
    const runDir = path.join(dataDir, "run");
    let mover = 0;
    await expect
      .poll(
        async () => {
          mover = (await processesOf(runDir)).find((p) => p.comm === "nbdcopy")?.pid ?? 0;
          return mover;
        },
        { timeout: 20_000, message: "the job's nbdcopy" },
      )
      .toBeGreaterThan(0);

    await page.goto(`/jobs/${encodeURIComponent(jobId)}`);
    await expect(page.getByTestId("disk-status")).toHaveText("transferring", { timeout: 20_000 });
    await expect(page.getByTestId("disk-stalled")).toHaveCount(0);
    process.kill(mover, "SIGSTOP");

    const stalled = page.getByTestId("disk-stalled");
    await expect(stalled).toBeVisible({ timeout: (E2E_STALL.stallSeconds + 5) * 1000 });
    await expect(stalled).toHaveText(/^stalled for \d+ s$/);
    await expect(page.getByTestId("job-status")).toHaveText("running");

    await expect(page.getByTestId("job-status")).toHaveText("failed", { timeout: (E2E_STALL.failSeconds + 5) * 1000 });
    await expect(page.getByTestId("job-error")).toContainText(`no progress for`);
    await expect(page.getByTestId("job-error")).toContainText(`(mover pid ${mover})`);
    await expect(page.getByTestId("disk-stalled")).toHaveCount(0);
    // Killed, not left stopped.
    await expect.poll(async () => (await processesOf(runDir)).length, { timeout: 10_000 }).toBe(0);
  } finally {
    nbdkit.kill("SIGTERM");
  }
});

/** A completed full backup of the demo raw disk (256 MiB), made through the API. */
async function completedBackup(request: APIRequestContext, vmName: string): Promise<string> {
  const started = await request.post("/api/v1/backups", {
    headers: auth,
    data: { vmName, type: "full", disks: [{ diskId: "sda", source: "demo-raw.img" }] },
  });
  expect(started.status()).toBe(202);
  const { id } = (await started.json()) as { id: string };
  await expect
    .poll(async () => ((await (await request.get(`/api/v1/backups/${id}`, { headers: auth })).json()) as Job).status, {
      timeout: 60_000,
      message: "the backup to complete",
    })
    .toBe("completed");
  return id;
}

test("a stopped restore copy shows stalled on the restore page, then the restore fails naming it", async ({
  page,
  request,
}) => {
  const jobId = await completedBackup(request, `e2e-rstall-${Date.now().toString(36)}`);
  // A writable destination that takes 4 MiB/s: the copy lasts long enough to be stopped.
  const port = await freePort();
  const nbdkit = spawn(
    "nbdkit",
    ["--exit-with-parent", "-f", "-i", "127.0.0.1", "-p", String(port), "--filter=rate", "memory", "256M", "rate=32M"],
    { stdio: "ignore" },
  );
  try {
    let restoreId = "";
    await expect
      .poll(
        async () => {
          const r = await request.post("/api/v1/restores", {
            headers: auth,
            data: { jobId, mode: "copy", destination: { nbd: `nbd://127.0.0.1:${port}/` } },
          });
          if (r.status() === 202) restoreId = ((await r.json()) as { id: string }).id;
          return r.status();
        },
        { timeout: 15_000, message: "the copy restore to start (nbdkit may need a moment to listen)" },
      )
      .toBe(202);
    await page.goto(`/restores/${encodeURIComponent(restoreId)}`);
    await expect(page.getByTestId("restore-disk-status")).toHaveText("transferring", { timeout: 20_000 });
    await expect(page.getByTestId("restore-disk-stalled")).toHaveCount(0);
    const { dataDir } = JSON.parse(readFileSync(E2E_STATE, "utf8")) as { dataDir: string };
    let mover = 0;
    await expect
      .poll(
        async () => {
          mover = (await processesOf(path.join(dataDir, "run"))).find((p) => p.comm === "nbdcopy")?.pid ?? 0;
          return mover;
        },
        { timeout: 20_000, message: "the restore's nbdcopy" },
      )
      .toBeGreaterThan(0);
    process.kill(mover, "SIGSTOP");

    const stalled = page.getByTestId("restore-disk-stalled");
    await expect(stalled).toBeVisible({ timeout: (E2E_STALL.stallSeconds + 5) * 1000 });
    await expect(stalled).toHaveText(/^stalled for \d+ s$/);
    await expect(page.getByTestId("restore-status")).toHaveText("failed", {
      timeout: (E2E_STALL.failSeconds + 5) * 1000,
    });
    await expect(page.getByTestId("restore-error")).toContainText(`no progress for`);
    await expect(page.getByTestId("restore-error")).toContainText(`(mover pid ${mover})`);
    await expect(page.getByTestId("restore-disk-stalled")).toHaveCount(0);
  } finally {
    nbdkit.kill("SIGTERM");
  }
});
