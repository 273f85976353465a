import { expect, test } from "./fixtures";

test("a new user opens the console and sees what nbdhub is and that it is healthy", async ({ page }, testInfo) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "nbdhub", level: 1 })).toBeVisible();
  await expect(page.getByText(/hands out a TCP port from its pool/)).toBeVisible();
  await expect(page.getByTestId("health")).toContainText("All systems ok");
  await expect(page.getByTestId("health")).toContainText("Database: ok");
  await expect(page.getByRole("link", { name: /Jobs/ }).first()).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath("home.png"), fullPage: true });
});
