// The console's pages render for a new user, in light and dark, with empty states that say what
// to do next, and the Ports page shows the whole range. Screenshots are kept as artifacts.
import type { Page, TestInfo } from "@playwright/test";
import { adminAuth as auth, expect, test } from "./fixtures";

async function shoot(page: Page, testInfo: TestInfo, name: string) {
  await page.emulateMedia({ colorScheme: "light" });
  await page.screenshot({ path: testInfo.outputPath(`${name}-light.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: testInfo.outputPath(`${name}-dark.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: "light" });
}

test("every page of the console renders for a new user, in light and dark", async ({ page }, testInfo) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));

  await page.goto("/");
  await expect(page.getByRole("heading", { name: "nbdhub", level: 1 })).toBeVisible();
  await expect(page.getByText(/hands out a TCP port from its pool/)).toBeVisible();
  await expect(page.getByTestId("health")).toContainText("All systems ok");
  await expect(page.getByRole("link", { name: "New backup" }).first()).toBeVisible();
  await expect(page.getByTestId("pool-used")).toBeVisible();
  await expect(page.getByTestId("pool-history-1h")).toBeVisible();
  await expect(page.getByTestId("pool-history-24h")).toBeVisible();
  // The repository's use over time (the sampler records one point at start) and its space now.
  await expect(page.getByTestId("repository-chart")).not.toHaveAttribute("data-points", "0");
  await expect(page.getByTestId("repository-free")).toHaveText(/\d.* (B|KiB|MiB|GiB|TiB)$/);
  await expect(page.getByTestId("repository-used")).toHaveText(/\d.* (B|KiB|MiB|GiB|TiB)$/);
  await expect(page.getByTestId("jobs-by-status")).toBeVisible();
  await expect(page.getByTestId("bytes-per-hour")).toBeVisible();
  await expect(page.getByTestId("last-failures")).toBeVisible();
  await expect(page.getByTestId("running-exports")).toBeVisible();
  await shoot(page, testInfo, "dashboard");
  // A wide monitor: the same page, more room.
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.screenshot({ path: testInfo.outputPath("dashboard-wide.png"), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Jobs", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Jobs", level: 1 })).toBeVisible();
  await expect(page.getByTestId("jobs-table").or(page.getByTestId("empty-state"))).toBeVisible();
  await shoot(page, testInfo, "jobs");

  await page.getByRole("link", { name: "New backup" }).first().click();
  await expect(page.getByRole("heading", { name: "New backup", level: 1 })).toBeVisible();
  await expect(page.getByLabel("VM name")).toBeVisible();
  await expect(page.getByTestId("source-list")).toContainText("demo-raw.img");
  await shoot(page, testInfo, "new-backup");

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Ports", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Ports", level: 1 })).toBeVisible();
  await expect(page.getByTestId("port-grid")).toBeVisible();
  await shoot(page, testInfo, "ports");

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Exports", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Exports", level: 1 })).toBeVisible();
  await expect(page.getByTestId("exports-table").or(page.getByTestId("empty-state"))).toBeVisible();
  await shoot(page, testInfo, "exports");

  // A single hub is one node: itself, up.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Nodes", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Nodes", level: 1 })).toBeVisible();
  await expect(page.getByTestId("node-row").first()).toContainText("this console's node");
  await shoot(page, testInfo, "nodes");

  await page.goto("/jobs/no-such-job");
  await expect(page.getByText("No such job")).toBeVisible();

  expect(errors).toEqual([]);
});

test("empty states tell a new user what to do next", async ({ page, request }, testInfo) => {
  await page.goto("/jobs?vm=no-such-vm-anywhere");
  await expect(page.getByTestId("empty-state")).toContainText("No jobs match these filters");
  await page.getByRole("button", { name: "Clear filters" }).first().click();
  await expect(page).toHaveURL(/\/jobs$/);

  const exports = await (await request.get("/api/v1/nbd/qemu-nbd", { headers: auth })).json();
  if (exports.count === 0) {
    await page.goto("/exports");
    await expect(page.getByTestId("empty-state")).toContainText("No qemu-nbd is running");
    await expect(page.getByTestId("empty-state").getByRole("link", { name: "New backup" })).toBeVisible();
    await page.screenshot({ path: testInfo.outputPath("exports-empty.png"), fullPage: true });
  }

  await page.goto("/jobs/new");
  await expect(page.getByTestId("no-disks")).toBeVisible();
});

test("the Ports page shows the whole range as a grid, each port with its state", async ({
  page,
  request,
}, testInfo) => {
  const pool = await (await request.get("/api/v1/nbd/ports", { headers: auth })).json();
  await page.goto("/ports");
  const cells = page.getByTestId("port-cell");
  await expect(cells).toHaveCount(pool.total);
  await expect(cells.first()).toHaveAttribute("data-port", String(pool.range.min));
  await expect(cells.last()).toHaveAttribute("data-port", String(pool.range.max));
  await expect(page.getByTestId("ports-used")).toHaveText(`${pool.allocated} / ${pool.total}`);

  // Keyboard: focus the first port, move right, open its details.
  await cells.first().focus();
  await page.keyboard.press("ArrowRight");
  await expect(page.locator(`[data-port="${pool.range.min + 1}"]`)).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("port-details")).toContainText(String(pool.range.min + 1));
  await page.screenshot({ path: testInfo.outputPath("ports-selected.png"), fullPage: true });
});
