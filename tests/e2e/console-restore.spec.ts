// Restore from the console (issue 14): from a completed job, Restore → Export shows the nbd://
// URI, and nbdinfo (run by the test) reads it with the right size, read-only; Copy back shows a
// progress bar that reaches completed. Screenshots of each page are kept with the results.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { APIRequestContext, Page, TestInfo } from "@playwright/test";
import { adminAuth as auth, expect, test } from "./fixtures";

const run = promisify(execFile);

type Job = { id: string; status: string; disks: { diskId: string; totalBytes: number }[] };

async function snap(page: Page, testInfo: TestInfo, name: string) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: testInfo.outputPath(name), fullPage: true });
}

async function completedBackup(request: APIRequestContext, vmName: string): Promise<Job> {
  const started = await request.post("/api/v1/backups", {
    headers: auth,
    data: { vmName, type: "full", disks: [{ diskId: "sda", source: "demo-raw.img" }] },
  });
  expect(started.status()).toBe(202);
  const { id } = (await started.json()) as Job;
  await expect
    .poll(async () => ((await (await request.get(`/api/v1/backups/${id}`, { headers: auth })).json()) as Job).status, {
      timeout: 60_000,
      message: "the backup to complete",
    })
    .toBe("completed");
  return (await (await request.get(`/api/v1/backups/${id}`, { headers: auth })).json()) as Job;
}

test("from a completed job, Restore → Export shows a URI that nbdinfo reads, read-only, at the right size", async ({
  page,
  request,
}, testInfo) => {
  const job = await completedBackup(request, `e2e-restore-${Date.now().toString(36)}`);
  await page.goto(`/jobs/${encodeURIComponent(job.id)}`);
  await page.getByTestId("restore-job").click();
  await expect(page).toHaveURL(/\/restores\/new\?jobId=/);
  await snap(page, testInfo, "restore-form.png");
  await page.getByTestId("start-restore").click();
  await expect(page).toHaveURL(/\/restores\/restore-[^/]+$/);
  await expect(page.getByTestId("restore-status")).toHaveText("ready", { timeout: 30_000 });
  const uri = (await page.getByTestId("restore-uri").textContent())?.trim() ?? "";
  expect(uri).toMatch(/^nbd:\/\/127\.0\.0\.1:\d+\/restore-sda$/);
  await expect(page.getByTestId("restore-commands")).toContainText(`nbdcopy ${uri} sda.raw`);
  await expect(page.getByTestId("restore-expiry")).toContainText("Served until");
  await snap(page, testInfo, "restore-export.png");

  const info = JSON.parse((await run("nbdinfo", ["--json", uri])).stdout) as {
    exports: { "export-size": number; is_read_only: boolean }[];
  };
  expect(info.exports[0]["export-size"]).toBe(job.disks[0].totalBytes);
  expect(info.exports[0].is_read_only).toBe(true);

  await page.goto("/exports");
  await expect(page.getByTestId("export-owner").first()).toContainText("a restore's");
  await snap(page, testInfo, "exports-with-restore.png");
  await page.goto("/restores");
  await page.getByTestId("restore-row").first().getByRole("link").first().click();
  await page.getByTestId("cancel-restore").click();
  await expect(page.getByTestId("restore-status")).toHaveText("cancelled");
});

test("Copy back shows a progress bar that reaches completed", async ({ page, request }, testInfo) => {
  const vmName = `e2e-copy-${Date.now().toString(36)}`;
  await completedBackup(request, vmName);
  await page.goto(`/vms/${encodeURIComponent(vmName)}`);
  await expect(page.getByTestId("restore-point")).toHaveCount(1);
  await snap(page, testInfo, "vm-timeline.png");
  await page.getByTestId("restore-point-button").click();
  await page.locator("label").filter({ hasText: "Write a disk to a new file" }).click();
  await expect(page.getByRole("radio", { name: /Copy back/ })).toBeChecked();
  await page.getByLabel("Path under the sources folder").fill(`e2e-restored-${Date.now().toString(36)}.raw`);
  await page.getByTestId("start-restore").click();
  await expect(page).toHaveURL(/\/restores\/restore-[^/]+$/);
  await expect(page.getByTestId("restore-progress")).toBeVisible();
  await expect(page.getByTestId("restore-status")).toHaveText("completed", { timeout: 60_000 });
  await expect(page.getByTestId("restore-progress")).toHaveAttribute("aria-valuenow", "100");
  await expect(page.getByTestId("restore-disk-status")).toHaveText("completed");
  await snap(page, testInfo, "restore-copy-completed.png");
  await page.goto("/vms");
  await expect(page.getByTestId("vm-row").first()).toBeVisible();
  await snap(page, testInfo, "vms.png");
});
