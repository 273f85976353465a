// Issue 16, "Browser": create a policy in the console, see the next run times as the schedule
// is typed (and the field's problem when it is wrong), run it now, and see the prune preview.
// Screenshots are kept as artifacts.
import type { Page, TestInfo } from "@playwright/test";
import { expect, test } from "./fixtures";

async function shoot(page: Page, testInfo: TestInfo, name: string) {
  await page.screenshot({ path: testInfo.outputPath(`${name}.png`), fullPage: true });
}

test("a policy is created, shows its next runs, runs now, and previews its prune", async ({ page }, testInfo) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  const name = `pol-${Date.now().toString(36)}`;

  await page.goto("/policies");
  await expect(page.getByRole("heading", { name: "Policies", level: 1 })).toBeVisible();
  await page.getByRole("button", { name: "New policy" }).click();
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("VM name").fill(`${name}-vm`);
  await page.getByLabel(/Disk sources/).fill("demo-raw.img");
  await page.getByLabel(/Time zone/).fill("UTC");

  // A wrong schedule: the field's problem, in words.
  await page.getByLabel(/Schedule/).fill("61 * * * *");
  await expect(page.getByTestId("next-runs")).toContainText(/minute field "61"/);
  // A right one: the next five run times.
  await page.getByLabel(/Schedule/).fill("30 2 * * *");
  await expect(page.getByTestId("next-runs").getByRole("listitem")).toHaveCount(5);
  await shoot(page, testInfo, "policy-form");

  await page.getByRole("button", { name: "Create policy" }).click();
  const row = page.getByTestId(`policy-${name}`);
  await expect(row).toBeVisible();
  await expect(row).toContainText("never");

  await row.getByRole("button", { name: "Run now" }).click();
  // The run's job, then its status once it ends.
  await expect(row.getByRole("link", { name: /completed|running|queued/ })).toBeVisible({ timeout: 60_000 });
  await expect(row.getByRole("link", { name: "completed" })).toBeVisible({ timeout: 90_000 });

  await row.getByRole("button", { name: "Prune preview" }).click();
  const preview = page.getByTestId("prune-preview");
  await expect(preview).toContainText("Kept (1)");
  await expect(preview).toContainText("keep-last 1");
  await shoot(page, testInfo, "policy-list-and-preview");
  expect(errors).toEqual([]);
});
