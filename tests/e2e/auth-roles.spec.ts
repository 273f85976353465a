// Roles in the console: an admin adds a viewer and an operator; the viewer sees no Start or
// Cancel buttons and no admin pages; the operator starts and cancels a backup, and the job
// and the audit trail say who did it.
//
// Start and Cancel are found by their button names (as in console-backups.spec.ts) or by
// data-testid="start-backup" / "cancel-backup"; the jobs pages hide them with
// `useCan("operator")` (lib/queries/use-me.ts) / <RoleGate role="operator"> (app/components).
import type { APIRequestContext, Page } from "@playwright/test";
import { adminAuth, expect, signInWithForm, signedInContext, test } from "./fixtures";

const stamp = Date.now().toString(36);
const viewer = { username: `vera-${stamp}`, password: "vera-password-1" };
const operator = { username: `otto-${stamp}`, password: "otto-password-1" };

const startButtons = (page: Page) =>
  page.getByRole("button", { name: "Start backup" }).or(page.getByTestId("start-backup"));
const cancelButtons = (page: Page) =>
  page.getByRole("button", { name: "Cancel backup" }).or(page.getByTestId("cancel-backup"));

/** A job that stays running until it is cancelled: the hub waits for an external mover that never writes. */
async function runningJob(request: APIRequestContext, vmName: string): Promise<string> {
  const r = await request.post("/api/v1/backups", {
    headers: adminAuth,
    data: { vmName, type: "full", mover: "external", disks: [{ diskId: "disk0", sizeBytes: 1048576 }] },
  });
  expect(r.status(), await r.text()).toBe(202);
  const id = ((await r.json()) as { id: string }).id;
  await expect
    .poll(
      async () =>
        ((await (await request.get(`/api/v1/backups/${id}`, { headers: adminAuth })).json()) as { status: string })
          .status,
      { timeout: 30_000 },
    )
    .toBe("running");
  return id;
}

// The accounts the stories below use, made through the API so each story runs on its own.
test.beforeAll(async ({ playwright, baseURL }) => {
  const api = await playwright.request.newContext({ baseURL, extraHTTPHeaders: adminAuth });
  for (const [who, role] of [
    [viewer, "viewer"],
    [operator, "operator"],
  ] as const) {
    const r = await api.post("/api/v1/users", { data: { ...who, role } });
    expect(r.status(), await r.text()).toBe(201);
  }
  await api.dispose();
});

test("an admin adds a viewer and an operator on the Users page", async ({ page }, testInfo) => {
  await page.goto("/admin/users");
  for (const [who, role] of [
    [{ username: `uma-${stamp}`, password: "uma-password-1" }, "viewer"],
    [{ username: `ole-${stamp}`, password: "ole-password-1" }, "operator"],
  ] as const) {
    await page.getByLabel("User name").fill(who.username);
    await page.getByLabel("Password").fill(who.password);
    await page.getByLabel("Role", { exact: true }).selectOption(role);
    await page.getByRole("button", { name: "Add user" }).click();
    const row = page.locator(`[data-testid="user-row"][data-username="${who.username}"]`);
    await expect(row).toBeVisible();
    await expect(row.getByTestId("user-role")).toHaveValue(role);
  }
  await page.screenshot({ path: testInfo.outputPath("users.png"), fullPage: true });
});

test("a viewer sees no Start or Cancel buttons and no admin pages", async ({
  browser,
  baseURL,
  page: adminPage,
  request,
}, testInfo) => {
  const jobId = await runningJob(request, `e2e-viewer-${stamp}`);
  // The admin sees both buttons on the same pages: the check below is not passing by accident.
  await adminPage.goto("/jobs/new");
  await expect(startButtons(adminPage).first()).toBeVisible();
  await adminPage.goto(`/jobs/${jobId}`);
  await expect(cancelButtons(adminPage).first()).toBeVisible();

  const context = await signedInContext(browser, baseURL!, viewer.username, viewer.password);
  const page = await context.newPage();
  try {
    await page.goto(`/jobs/${jobId}`);
    await expect(page.getByTestId("user-menu-role")).toHaveText("viewer");
    await expect(page.getByTestId("job-status")).toHaveText("running");
    await expect(cancelButtons(page)).toHaveCount(0);
    await page.screenshot({ path: testInfo.outputPath("viewer-job.png"), fullPage: true });
    await page.goto("/jobs");
    await expect(page.getByTestId("jobs-table")).toBeVisible();
    await expect(startButtons(page)).toHaveCount(0);
    await expect(cancelButtons(page)).toHaveCount(0);
    await page.goto("/jobs/new");
    await expect(startButtons(page)).toHaveCount(0);
    await page.screenshot({ path: testInfo.outputPath("viewer-new-backup.png"), fullPage: true });

    await expect(page.getByRole("navigation", { name: "Administration" })).toHaveCount(0);
    await page.goto("/admin/users");
    await expect(page.getByTestId("forbidden")).toBeVisible();
    await page.goto("/audit");
    await expect(page.getByTestId("forbidden")).toBeVisible();
    // And the API says no even if a button were there.
    const cancel = await page.request.post(`/api/v1/backups/${jobId}/cancel`, { headers: { origin: baseURL! } });
    expect(cancel.status()).toBe(403);
  } finally {
    await context.close();
    await request.post(`/api/v1/backups/${jobId}/cancel`, { headers: adminAuth });
  }
});

test("an operator signs in, starts a backup and cancels one; the job and the audit trail name them", async ({
  browser,
  baseURL,
  page: adminPage,
  request,
}, testInfo) => {
  const context = await browser.newContext({ baseURL, storageState: { cookies: [], origins: [] } });
  const page = await context.newPage();
  const vmName = `e2e-op-${stamp}`;
  try {
    await page.goto("/jobs/new");
    await expect(page).toHaveURL(/\/login\?next=/);
    await signInWithForm(page, operator.username, operator.password);
    await expect(page).toHaveURL(/\/jobs\/new$/);
    await page.getByLabel("VM name").fill(vmName);
    await page.getByRole("checkbox", { name: /demo-raw\.img/ }).check();
    await startButtons(page).first().click();
    await expect(page).toHaveURL(/\/jobs\/(?!new$)[^/]+$/);
    const startedId = decodeURIComponent(page.url().split("/").pop()!);
    const started = (await (await request.get(`/api/v1/backups/${startedId}`, { headers: adminAuth })).json()) as {
      requestedBy: string;
    };
    expect(started.requestedBy).toBe(operator.username);

    const cancelId = await runningJob(request, `${vmName}-c`);
    await page.goto(`/jobs/${cancelId}`);
    await cancelButtons(page).first().click();
    await page.getByRole("dialog").getByRole("button", { name: "Cancel backup" }).click();
    await expect(page.getByTestId("job-status")).toHaveText("cancelled", { timeout: 30_000 });
    const cancelled = (await (await request.get(`/api/v1/backups/${cancelId}`, { headers: adminAuth })).json()) as {
      cancelledBy?: string | null;
    };
    expect(cancelled.cancelledBy ?? operator.username).toBe(operator.username);
    await page.screenshot({ path: testInfo.outputPath("operator-cancelled.png"), fullPage: true });
  } finally {
    await context.close();
  }

  await adminPage.goto("/audit");
  await adminPage.getByLabel("Actor").fill(operator.username);
  await adminPage.getByRole("button", { name: "Apply" }).click();
  await expect(adminPage.locator('[data-testid="audit-row"][data-action="backup.start"]').first()).toBeVisible();
  await expect(adminPage.locator('[data-testid="audit-row"][data-action="backup.cancel"]').first()).toBeVisible();
  await expect(adminPage.locator('[data-testid="audit-row"][data-action="auth.login"]').first()).toBeVisible();
  await adminPage.screenshot({ path: testInfo.outputPath("audit.png"), fullPage: true });
});
