// Issue 13 in the console: the new-backup form says what each chosen disk will get, and the
// page of an incremental shows per disk its mode and "moved X of Y (changed blocks since job
// X)", with a link to job X. Real server, qemu-img/qemu-io on a qcow2 under the sources root.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { APIRequestContext } from "@playwright/test";
import { adminAuth as auth, expect, test } from "./fixtures";
import { E2E_STATE } from "./global-setup";

type Job = { id: string; status: string; disks: { copyMode: string | null; backingJobId: string | null }[] };

async function backupAndWait(request: APIRequestContext, body: unknown): Promise<Job> {
  const started = await request.post("/api/v1/backups", { headers: auth, data: body });
  expect(started.status()).toBe(202);
  const { id } = (await started.json()) as Job;
  let job: Job | undefined;
  await expect
    .poll(
      async () => {
        job = (await (await request.get(`/api/v1/backups/${id}`, { headers: auth })).json()) as Job;
        return job.status;
      },
      { timeout: 60_000 },
    )
    .toBe("completed");
  return job!;
}

const TITLE = "an incremental's page shows the mode and what it moved; the form says what each disk gets";

test(TITLE, async ({ page, request }, testInfo) => {
  const { dataDir } = JSON.parse(readFileSync(E2E_STATE, "utf8")) as { dataDir: string };
  const vmName = `e2e-incr-${Date.now().toString(36)}`;
  const name = `${vmName}.qcow2`;
  const file = path.join(dataDir, "sources", name);
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", file, "64M"]);
  execFileSync("qemu-io", ["-f", "qcow2", "-c", "write -P 7 0 16M", file]);
  const full = await backupAndWait(request, { vmName, type: "full", disks: [{ source: name }] });
  // About 2 MiB changed at two places.
  execFileSync("qemu-io", ["-f", "qcow2", "-c", "write -P 9 1M 1M", "-c", "write -P 11 40M 1M", file]);

  // The form: an incremental of this VM's disk will copy the changed blocks since the full.
  await page.goto("/jobs/new");
  await page.getByLabel("VM name").fill(vmName);
  await page.getByText("Incremental", { exact: true }).click();
  await page.getByRole("checkbox", { name: new RegExp(name) }).check();
  await expect(page.getByTestId("copy-plan")).toContainText(`changed blocks since job ${full.id}`);

  const inc = await backupAndWait(request, { vmName, type: "incremental", disks: [{ source: name }] });
  expect(inc.disks[0]).toMatchObject({ copyMode: "changed-blocks", backingJobId: full.id });
  await page.goto(`/jobs/${inc.id}`);
  const mode = page.getByTestId("disk-copy-mode");
  await expect(mode).toContainText("changed blocks");
  await expect(page.getByTestId("disk-moved")).toContainText(/moved 2\.00 MiB of 64\.0 MiB \(changed blocks since job/);
  await expect(page.getByTestId("disk-verified")).toHaveText("verified");
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: testInfo.outputPath("incremental-job.png"), fullPage: true });
  await mode.getByRole("link", { name: `job ${full.id}` }).click();
  await expect(page).toHaveURL(new RegExp(`/jobs/${full.id}$`));
  await expect(page.getByTestId("disk-copy-mode")).toContainText("full");
});
