// Issue 16, "Browser": create a policy in the console, see the next run times as the schedule
// is typed (and the field's problem when it is wrong), run it now, and see the prune preview;
// the dashboard then shows the VM's space in the repository. An admin adds a notification target
// (a receiver this test starts), sends a test, sees the delivery, edits and deletes the target.
// Screenshots are kept as artifacts.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
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

  // The dashboard: the repository's space now holds the VM's restore point.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Dashboard" }).click();
  const vm = page.getByTestId("repository-vm").and(page.locator(`[data-vm-name="${name}-vm"]`));
  // Its cells: the VM, its restore points, their size.
  await expect(vm.getByRole("cell").nth(1)).toHaveText("1");
  await expect(vm.getByRole("cell").nth(2)).toHaveText(/^\d+(\.\d+)? (KiB|MiB|GiB)$/);
  await expect(page.getByTestId("repository-chart")).not.toHaveAttribute("data-points", "0");
  await page.evaluate(() => window.scrollTo(0, 0)); // the sticky header stays at the top of the shot
  await shoot(page, testInfo, "dashboard-repository");
  expect(errors).toEqual([]);
});

const eventOf = (message: { body: unknown }) => (message.body as { event?: string } | null)?.event;

/** The paths the test messages arrived at, in order; each other message must be a completion. */
function testMessages(got: { path: string; body: unknown }[]): string[] {
  for (const message of got) expect(["test", "completed"]).toContain(eventOf(message));
  return got.filter((message) => eventOf(message) === "test").map((message) => message.path);
}

/** A local webhook receiver: answers 200 and keeps the paths and bodies it got. */
async function startReceiver(): Promise<{ server: Server; url: string; got: { path: string; body: unknown }[] }> {
  const got: { path: string; body: unknown }[] = [];
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (chunk: Buffer) => (text += chunk.toString()));
    req.on("end", () => {
      got.push({ path: req.url ?? "", body: JSON.parse(text) as unknown });
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}

test("an admin adds a notification target, sends a test, sees the delivery, edits and deletes it", async ({
  page,
}, testInfo) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  const receiver = await startReceiver();
  try {
    const name = `ops-${Date.now().toString(36)}`;
    await page.goto("/");
    const admin = page.getByRole("navigation", { name: "Administration" });
    await admin.getByRole("link", { name: "Notifications" }).click();
    await expect(page.getByRole("heading", { name: "Notifications", level: 1 })).toBeVisible();

    await page.getByLabel("Name", { exact: true }).fill(name);
    await page.getByLabel("Webhook URL").fill(`${receiver.url}/hooks/e2e-secret-token`);
    await page.getByLabel("A job completed").check();
    await page.getByRole("button", { name: "Add notification" }).click();
    const row = page.getByTestId("notification-row").and(page.locator(`[data-notification-name="${name}"]`));
    await expect(row).toBeVisible();
    // The URL's secret part is not shown once saved.
    await expect(row.getByTestId("notification-url")).toHaveText(`${receiver.url}/…`);
    await expect(page.getByText("e2e-secret-token")).toHaveCount(0);

    await row.getByRole("button", { name: "Send test" }).click();
    await expect(row.getByTestId("notification-test-result")).toHaveText("Test delivered (200)");
    // The e2e server is shared: a job another test started may complete meanwhile, and this target
    // is subscribed to completions, so "completed" messages may arrive too.
    const log = page.getByTestId("delivery-log");
    const delivery = log.getByTestId("delivery-row").and(page.locator('[data-event="test"]'));
    await expect(delivery).toHaveCount(1);
    await expect(delivery.getByTestId("delivery-status")).toHaveText("delivered");
    await expect(delivery.getByTestId("delivery-code")).toHaveText("200");
    expect(testMessages(receiver.got)).toEqual(["/hooks/e2e-secret-token"]);
    await shoot(page, testInfo, "notifications-test-delivered");

    // Edit: a new name; the URL left empty keeps the stored one.
    await row.getByRole("button", { name: "Edit" }).click();
    await page.getByLabel("Name", { exact: true }).fill(`${name}-renamed`);
    await page.getByRole("button", { name: "Save changes" }).click();
    const renamed = page
      .getByTestId("notification-row")
      .and(page.locator(`[data-notification-name="${name}-renamed"]`));
    await expect(renamed).toBeVisible();
    await expect(renamed.getByTestId("notification-url")).toHaveText(`${receiver.url}/…`);
    await renamed.getByRole("button", { name: "Send test" }).click();
    // The first test's result may still be on screen right after the click (the row keeps its
    // state through the rename): the delivery log's second test row is the sign of this one.
    await expect(delivery).toHaveCount(2);
    await expect(delivery.getByTestId("delivery-status")).toHaveText(["delivered", "delivered"]);
    await expect(renamed.getByTestId("notification-test-result")).toHaveText("Test delivered (200)");
    expect(testMessages(receiver.got)).toEqual(["/hooks/e2e-secret-token", "/hooks/e2e-secret-token"]);

    await renamed.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("button", { name: "Delete notification" }).click();
    await expect(renamed).toHaveCount(0);
    await expect(page.getByTestId("delivery-log")).toHaveCount(0);
    expect(errors).toEqual([]);
  } finally {
    await new Promise((resolve) => receiver.server.close(resolve));
  }
});
