// The API page: the Tokens page leads to it, it lists the routes by area from the OpenAPI
// document, a route opens to what it takes and answers, and the raw document downloads.
import { expect, test } from "./fixtures";

test("the Tokens page links to the API page, which shows each route and offers the raw document", async ({
  page,
}, testInfo) => {
  await page.goto("/admin/tokens");
  await page.getByRole("link", { name: "API reference" }).click();
  await expect(page).toHaveURL(/\/api-docs$/);
  await expect(page.getByRole("heading", { name: "API", level: 1 })).toBeVisible();

  const backups = page.getByRole("region", { name: "Backups" });
  await expect(backups).toBeVisible();
  const start = backups.getByTestId("api-operation").filter({ hasText: "Start a backup of a VM" });
  await expect(start.locator("summary")).toContainText("post");
  await expect(start.locator("summary")).toContainText("/backups");
  await start.locator("summary").click();
  await expect(start).toContainText("Needs the operator role or above.");
  await expect(start).toContainText("vmName");
  await expect(start.getByRole("link", { name: "BackupJob" })).toBeVisible();
  await expect(page.locator("#schema-BackupJob")).toContainText("transferredBytes");
  await page.screenshot({ path: testInfo.outputPath("api-docs.png"), fullPage: false });

  const download = page.getByRole("link", { name: "Download openapi.json" });
  await expect(download).toHaveAttribute("href", "/api/v1/openapi.json");
  const [file] = await Promise.all([page.waitForEvent("download"), download.click()]);
  expect(file.suggestedFilename()).toBe("nbdhub-openapi.json");
});
