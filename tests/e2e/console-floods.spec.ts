// Loose ends of issue 11 in the browser: the Ports grid shows a port whose qemu-nbd crashed
// (GET /nbd/qemu-nbd?recent=…), and the Jobs filter takes the start of a VM name.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { E2E_STATE } from "./global-setup";
import { adminAuth as auth, expect, test } from "./fixtures";

test("the Ports grid shows a port whose export crashed, with when it ended", async ({ page, request }) => {
  const { dataDir } = JSON.parse(readFileSync(E2E_STATE, "utf8")) as { dataDir: string };
  const file = path.join(dataDir, "repository", "e2e-crash", "d0.qcow2");
  mkdirSync(path.dirname(file), { recursive: true });
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", file, "1M"]);
  const pool = await (await request.get("/api/v1/nbd/ports", { headers: auth })).json();
  const port = pool.range.max as number;
  const started = await request.post("/api/v1/nbd/qemu-nbd/start", {
    headers: auth,
    data: { port, exportName: "e2e-crash", filePath: file, jobId: "e2e-crash-job", vmName: "e2e-crash", diskId: "d0" },
  });
  expect(started.status(), await started.text()).toBe(201);
  process.kill((await started.json()).pid as number, "SIGKILL");

  await page.goto("/ports");
  const cell = page.locator(`[data-testid="port-cell"][data-port="${port}"]`);
  await expect(cell).toHaveAttribute("data-state", "crashed", { timeout: 15_000 });
  await cell.click();
  await expect(page.getByTestId("port-details")).toContainText("Ended");
  await expect(page.getByTestId("port-details")).toContainText("e2e-crash-job");
});

test("the Jobs filter finds every VM whose name starts with what was typed", async ({ page, request }) => {
  const ids: string[] = [];
  for (const vmName of ["pfx-alpha", "pfx-beta", "other-pfx"]) {
    const r = await request.post("/api/v1/backups", {
      headers: auth,
      data: { vmName, type: "full", mover: "external", disks: [{ diskId: "d0", sizeBytes: 1048576 }] },
    });
    expect(r.status(), await r.text()).toBe(202);
    ids.push((await r.json()).id);
  }
  for (const id of ids)
    await request.post(`/api/v1/backups/${id}/fail`, {
      headers: auth,
      data: { message: "e2e: only its name matters" },
    });

  await page.goto("/jobs");
  await page.getByLabel("VM name").fill("pfx-");
  const rows = page.getByTestId("job-row");
  await expect(rows).toHaveCount(2);
  await expect(page).toHaveURL(/vm=pfx-/);
  await page.getByLabel("VM name").fill("pfx-b");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toHaveAttribute("data-job-id", ids[1]);
});
