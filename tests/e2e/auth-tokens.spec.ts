// An admin creates an API token in the console; it is shown once, works with curl at once,
// and stops working the moment it is revoked.
import { execFileSync } from "node:child_process";
import { expect, test } from "./fixtures";

function curl(url: string, token: string, method = "GET", body?: unknown): { status: number; body: string } {
  const args = ["-s", "-o", "-", "-w", "\n%{http_code}", "-X", method, "-H", `Authorization: Bearer ${token}`];
  if (body !== undefined) args.push("-H", "content-type: application/json", "--data", JSON.stringify(body));
  const out = execFileSync("curl", [...args, url], { encoding: "utf8" });
  const cut = out.lastIndexOf("\n");
  return { status: Number(out.slice(cut + 1)), body: out.slice(0, cut) };
}

test("an admin creates a token that works with curl, is shown once, and can be revoked", async ({
  page,
  baseURL,
}, testInfo) => {
  const name = `e2e-curl-${Date.now().toString(36)}`;
  await page.goto("/admin/tokens");
  await expect(page.getByRole("heading", { name: "API tokens", level: 1 })).toBeVisible();
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Role").selectOption("operator");
  await page.getByRole("button", { name: "Create token" }).click();

  const secretBox = page.getByTestId("new-token-secret");
  await expect(secretBox).toHaveText(/^nbdh_/);
  const secret = (await secretBox.textContent())!.trim();
  await expect(page.getByRole("button", { name: "Copy the token" })).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath("token-created.png"), fullPage: true });

  const me = curl(`${baseURL}/api/v1/auth/me`, secret);
  expect(me.status).toBe(200);
  expect(JSON.parse(me.body)).toMatchObject({ kind: "token", name: `token:${name}`, role: "operator" });
  // An operator token may change state.
  const jobId = `e2e-${Date.now().toString(36)}`;
  const allocated = curl(`${baseURL}/api/v1/nbd/ports/allocate`, secret, "POST", {
    jobId,
    vmName: "e2e-vm",
    exportName: "e2e-export",
  });
  expect(allocated.status).toBe(201);
  expect(curl(`${baseURL}/api/v1/nbd/ports/release`, secret, "POST", { jobId }).status).toBe(200);

  // Shown once: after a reload the secret is nowhere on the page.
  await page.reload();
  const row = page.locator(`[data-testid="token-row"][data-token-name="${name}"]`);
  await expect(row).toBeVisible();
  await expect(page.getByTestId("new-token-secret")).toHaveCount(0);
  expect(await page.content()).not.toContain(secret);
  await expect(row).not.toContainText("never");

  await row.getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Revoke token" }).click();
  await expect(row.getByTestId("token-status")).toContainText("revoked");
  expect(curl(`${baseURL}/api/v1/auth/me`, secret).status).toBe(401);
  await page.screenshot({ path: testInfo.outputPath("token-revoked.png"), fullPage: true });
});
