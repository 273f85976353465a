// The operator's stories of issue #5, against the real server, Postgres, qemu-nbd and nbdcopy:
// start a backup from the browser and watch it finish; cancel a slow one; watch the pool rise
// and fall on the dashboard; read the API's message beside a bad field.
// Slow sources are nbdkit exports limited with the rate filter, on loopback.
import type { APIRequestContext, Page, TestInfo } from "@playwright/test";
import { slowSource, throttledSource } from "../helpers/nbdkit";
import { adminAuth as auth, expect, test } from "./fixtures";

type Job = { id: string; status: string; disks: { diskId: string; port: number | null; status: string }[] };

/** A full-page screenshot from the top (a sticky header would otherwise land mid-page). */
async function snap(page: Page, testInfo: TestInfo, name: string) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: testInfo.outputPath(name), fullPage: true });
}

async function getJob(request: APIRequestContext, id: string): Promise<Job> {
  const response = await request.get(`/api/v1/backups/${id}`, { headers: auth });
  expect(response.status()).toBe(200);
  return response.json();
}

/** A job's page (not /jobs/new, where the form was). */
const JOB_URL = /\/jobs\/(?!new$)[^/]+$/;

const vm = (what: string) => `e2e-${what}-${Date.now().toString(36)}`;

test("a VM name typed before the page's scripts ran is the one the form sends", async ({ page }) => {
  // A slow load (seen in a loaded test run after signing in): the server-rendered form takes
  // typing before React hydrates it. Hold the page's scripts until the name is typed.
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  await page.route(/\/_next\/static\/chunks\/.+\.js/, async (route) => {
    await released;
    await route.continue();
  });
  const vmName = vm("early");
  await page.goto("/jobs/new", { waitUntil: "domcontentloaded" });
  await page.getByLabel("VM name").fill(vmName);
  release();
  // The sources list is fetched by the hydrated page: once it shows, React runs the form.
  await page.getByRole("checkbox", { name: /demo-raw\.img/ }).check();
  await page.getByRole("button", { name: "Start backup" }).click();
  await expect(page).toHaveURL(JOB_URL);
  await expect(page.getByRole("heading", { name: vmName, level: 1 })).toBeVisible();
});

test("an operator starts a backup of a demo source, watches it complete, and finds it in Jobs", async ({
  page,
}, testInfo) => {
  const vmName = vm("full");
  await page.goto("/jobs/new");
  await page.getByLabel("VM name").fill(vmName);
  await page.getByRole("checkbox", { name: /demo-raw\.img/ }).check();
  await expect(page.getByTestId("chosen-disks")).toContainText("demo-raw.img");
  await snap(page, testInfo, "new-backup-filled.png");
  await page.getByRole("button", { name: "Start backup" }).click();

  await expect(page).toHaveURL(JOB_URL);
  const jobId = decodeURIComponent(page.url().split("/").pop()!);
  await expect(page.getByRole("heading", { name: vmName, level: 1 })).toBeVisible();
  await expect(page.getByTestId("disk-card")).toHaveCount(1);
  await expect(page.getByTestId("job-progress")).toHaveAttribute("aria-valuenow", "100", { timeout: 60_000 });
  await expect(page.getByTestId("job-status")).toHaveText("completed", { timeout: 60_000 });
  await expect(page.getByTestId("disk-percent")).toHaveText("100 %");
  // A disk copied from a file is compared with it: the card says what was proved.
  await expect(page.getByTestId("disk-verified")).toHaveText("verified");
  await expect(page.getByTestId("disk-verification")).toContainText("identical to the source demo-raw.img");
  await expect(page.getByTestId("event-log")).not.toBeEmpty();
  await snap(page, testInfo, "job-completed.png");

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Jobs", exact: true }).click();
  const row = page.locator(`[data-testid="job-row"][data-job-id="${jobId}"]`);
  await expect(row).toBeVisible();
  await expect(row.getByTestId("job-row-status")).toHaveText("completed");
  await expect(row.getByTestId("job-row-size")).toHaveText("256 MiB");
  await expect(row.getByTestId("job-row-duration")).toHaveText(/\d+ (s|min)/);
  await snap(page, testInfo, "jobs-with-completed.png");
});

test("an operator cancels a running backup and its port is free again", async ({ page, request }, testInfo) => {
  const source = await slowSource("256M", "16M");
  try {
    const vmName = vm("cancel");
    await page.goto("/jobs/new");
    await page.getByLabel("VM name").fill(vmName);
    await page.getByLabel("NBD source URI").fill(source.uri);
    await page.getByRole("button", { name: "Add disk" }).click();
    await page.getByRole("button", { name: "Start backup" }).click();
    await expect(page).toHaveURL(JOB_URL);
    const jobId = decodeURIComponent(page.url().split("/").pop()!);

    await expect(page.getByTestId("disk-status")).toHaveText("transferring", { timeout: 30_000 });
    await expect(page.getByTestId("live-indicator")).toHaveText("Live");

    // A lost event stream says so, and comes back by itself.
    await page.route("**/api/v1/backups/*/events", (route) => route.abort("connectionreset"));
    await page.reload();
    await expect(page.getByTestId("live-indicator")).toHaveText("Reconnecting…");
    await page.unroute("**/api/v1/backups/*/events");
    await expect(page.getByTestId("live-indicator")).toHaveText("Live", { timeout: 30_000 });
    const port = (await getJob(request, jobId)).disks[0].port;
    expect(port).not.toBeNull();
    await snap(page, testInfo, "job-running.png");

    await page.getByRole("button", { name: "Cancel backup" }).click();
    const dialog = page.getByRole("dialog");
    await expect(dialog).toContainText("Cancel the backup");
    await page.screenshot({ path: testInfo.outputPath("cancel-confirm.png") });
    await dialog.getByRole("button", { name: "Cancel backup" }).click();
    await expect(page.getByTestId("job-status")).toHaveText("cancelled", { timeout: 30_000 });
    await expect(page.getByRole("button", { name: "Cancel backup" })).toHaveCount(0);
    await snap(page, testInfo, "job-cancelled.png");

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Ports", exact: true }).click();
    await expect(page.locator(`[data-testid="port-cell"][data-port="${port}"]`)).toHaveAttribute("data-state", "free");
  } finally {
    await source.stop();
  }
});

test("the dashboard's pool utilisation rises while a multi-disk job runs and falls after", async ({
  page,
  request,
}, testInfo) => {
  // Two disks of 64 MiB from a source held at 8 Mbit/s while the test looks at the running job
  // (however long a loaded machine takes to show it), then let go.
  const source = await throttledSource("64M", "8M");
  try {
    await page.goto("/");
    const before = (await (await request.get("/api/v1/nbd/ports", { headers: auth })).json()).allocated as number;
    await expect(page.getByTestId("pool-used")).toContainText(`${before} /`);

    const vmName = vm("multi");
    const started = await request.post("/api/v1/backups", {
      headers: auth,
      data: {
        vmName,
        type: "full",
        disks: [
          { diskId: "os", source: source.uri },
          { diskId: "data", source: source.uri },
        ],
      },
    });
    expect(started.status()).toBe(202);
    const job = (await started.json()) as Job;

    await expect(page.getByTestId("pool-used")).toContainText(`${before + 2} /`, { timeout: 30_000 });
    await expect(page.getByTestId("active-jobs")).toContainText(vmName);
    await expect(page.getByTestId("running-exports")).toContainText(vmName);
    await snap(page, testInfo, "dashboard-busy.png");

    // Meanwhile, in another tab: the Ports grid and the Exports table show the job's two disks.
    const other = await page.context().newPage();
    await other.goto("/ports");
    await expect(other.locator('[data-testid="port-cell"][data-state="exporting"]')).toHaveCount(before + 2);
    await other.locator('[data-testid="port-cell"][data-state="exporting"]').first().click();
    await expect(other.getByTestId("port-details")).toContainText(vmName);
    await snap(other, testInfo, "ports-busy.png");
    await other.goto("/exports");
    await expect(other.getByTestId("export-row").filter({ hasText: vmName })).toHaveCount(2);
    await snap(other, testInfo, "exports-busy.png");
    await other.close();

    await source.setRate("4G");
    await expect.poll(async () => (await getJob(request, job.id)).status, { timeout: 90_000 }).toBe("completed");
    await expect(page.getByTestId("pool-used")).toContainText(`${before} /`, { timeout: 15_000 });
    await expect(page.getByTestId("active-jobs")).not.toContainText(vmName);

    // The server's samples saw it too: the last hour's peak reached two more ports.
    await expect
      .poll(async () => {
        const history = await (await request.get("/api/v1/stats/pool-history?range=1h", { headers: auth })).json();
        return Math.max(0, ...history.points.map((p: { allocatedMax: number }) => p.allocatedMax));
      })
      .toBeGreaterThanOrEqual(before + 2);
    await snap(page, testInfo, "dashboard-after.png");
  } finally {
    await source.stop();
  }
});

test("an operator stops an export from the Exports page", async ({ page, request }, testInfo) => {
  const source = await slowSource("256M", "16M");
  try {
    const started = await request.post("/api/v1/backups", {
      headers: auth,
      data: { vmName: vm("stop"), type: "full", disks: [{ source: source.uri }] },
    });
    expect(started.status()).toBe(202);
    const job = (await started.json()) as Job;
    await expect.poll(async () => (await getJob(request, job.id)).disks[0].port, { timeout: 30_000 }).not.toBeNull();
    const port = (await getJob(request, job.id)).disks[0].port;

    await page.goto("/exports");
    const row = page.locator(`[data-testid="export-row"][data-port="${port}"]`);
    await expect(row).toBeVisible();
    await row.getByRole("button", { name: `Stop the export on port ${port}` }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Stop export" }).click();
    await expect(page.getByTestId("toast").filter({ hasText: `Export on port ${port} stopped` })).toBeVisible({
      timeout: 20_000,
    });
    await expect(row).toHaveCount(0);
    await snap(page, testInfo, "export-stopped.png");
    // Its disk can no longer be written: the job ends, and every port it held is free.
    await expect
      .poll(async () => (await getJob(request, job.id)).status, { timeout: 60_000 })
      .not.toMatch(/queued|running/);
  } finally {
    await source.stop();
  }
});

test("a VM name with spaces shows the API's message beside the field", async ({ page, request }, testInfo) => {
  const bad = { vmName: "my web server", type: "full", disks: [{ source: "demo-raw.img" }] };
  const answer = await request.post("/api/v1/backups", { headers: auth, data: bad });
  expect(answer.status()).toBe(422);
  const { error } = await answer.json();
  expect(error.code).toBe("validation_failed");

  await page.goto("/jobs/new");
  await page.getByLabel("VM name").fill(bad.vmName);
  await page.getByRole("checkbox", { name: /demo-raw\.img/ }).check();
  await page.getByRole("button", { name: "Start backup" }).click();
  await expect(page.getByTestId("error-vmName")).toHaveText(error.details.vmName);
  await expect(page.getByLabel("VM name")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByTestId("toast")).toContainText(error.message);
  await expect(page).toHaveURL(/\/jobs\/new$/);
  await snap(page, testInfo, "new-backup-field-error.png");
});
