// First run, as a person meets it: a console with no users asks for the first admin, signs
// them in, and from then on every page needs a sign-in. Runs its own fresh server (the shared
// one already has an admin).
import { mkdtemp, chmod } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startServer, type TestServer } from "../helpers/server";
import { nonLoopbackAddress } from "../integration/auth-support";
import { expect, signInWithForm, test } from "./fixtures";

let fresh: TestServer;

async function freshDataDir(): Promise<string> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-e2e-firstrun-"));
  await chmod(dataDir, 0o755);
  return dataDir;
}

test.beforeAll(async () => {
  fresh = await startServer({ NBDHUB_DATA_DIR: await freshDataDir() });
});

test.afterAll(async () => {
  await fresh?.stop();
});

test("the first visitor creates the admin account, signs out, and signs in again", async ({ browser }, testInfo) => {
  test.setTimeout(120_000);
  const context = await browser.newContext({ baseURL: fresh.url, storageState: { cookies: [], origins: [] } });
  const page = await context.newPage();
  try {
    await page.goto("/jobs");
    await expect(page).toHaveURL(/\/setup$/);
    await expect(page.getByRole("heading", { name: "Welcome to nbdhub" })).toBeVisible();
    await page.screenshot({ path: testInfo.outputPath("setup.png"), fullPage: true });

    await page.getByLabel("User name").fill("owner");
    await page.getByLabel("Password", { exact: true }).fill("owner-password-1");
    await page.getByLabel("Password again").fill("owner-password-2");
    await page.getByRole("button", { name: "Create admin and sign in" }).click();
    await expect(page.getByTestId("setup-error")).toContainText("differ");
    await page.getByLabel("Password again").fill("owner-password-1");
    await page.getByRole("button", { name: "Create admin and sign in" }).click();

    await expect(page).toHaveURL(`${fresh.url}/`);
    const menu = page.getByTestId("user-menu");
    await expect(menu.getByTestId("user-menu-name")).toHaveText("owner");
    await expect(menu.getByTestId("user-menu-role")).toHaveText("admin");
    await page.screenshot({ path: testInfo.outputPath("signed-in.png"), fullPage: true });

    // Setup is over: the page sends a signed-in admin home, and the API refuses a second admin.
    await page.goto("/setup");
    await expect(page).toHaveURL(`${fresh.url}/`);
    expect(
      (
        await page.request.post("/api/v1/auth/setup", {
          data: { username: "late", password: "late-password" },
          headers: { origin: fresh.url },
        })
      ).status(),
    ).toBe(409);

    await menu.getByTestId("sign-out").click();
    await expect(page).toHaveURL(/\/login$/);
    expect((await page.request.get("/api/v1/auth/me")).status()).toBe(401);

    await page.goto("/jobs");
    await expect(page).toHaveURL(/\/login\?next=%2Fjobs$/);
    await signInWithForm(page, "owner", "wrong-password");
    await expect(page.getByTestId("login-error")).toContainText("wrong");
    await page.screenshot({ path: testInfo.outputPath("login-error.png"), fullPage: true });
    await signInWithForm(page, "owner", "owner-password-1");
    await expect(page).toHaveURL(`${fresh.url}/jobs`);
    await expect(page.getByTestId("user-menu-name")).toHaveText("owner");
  } finally {
    await context.close();
  }
});

const REMOTE_TITLE = "a visitor from another machine needs the one-time setup code from the server's log";

test(REMOTE_TITLE, async ({ browser }, testInfo) => {
  test.setTimeout(150_000);
  // Listening on every interface; the browser comes in through this machine's network
  // address, so to the server it is a remote visitor.
  const address = nonLoopbackAddress();
  const env = { NBDHUB_DATA_DIR: await freshDataDir(), NBDHUB_ALLOWED_HOSTS: address };
  const server = await startServer(env, { host: "0.0.0.0" });
  const base = `http://${address}:${server.port}`;
  const context = await browser.newContext({ baseURL: base, storageState: { cookies: [], origins: [] } });
  const page = await context.newPage();
  try {
    await page.goto("/setup");
    await expect(page.getByRole("heading", { name: "Welcome to nbdhub" })).toBeVisible();
    await expect(page.getByTestId("setup-code-help")).toContainText("printed in its log");
    await page.screenshot({ path: testInfo.outputPath("setup-code.png"), fullPage: true });

    await page.getByLabel("User name").fill("owner");
    await page.getByLabel("Password", { exact: true }).fill("owner-password-1");
    await page.getByLabel("Password again").fill("owner-password-1");
    await page.getByLabel("Setup code").fill("AAAAA-BBBBB-CCCCC-DDDDD");
    await page.getByRole("button", { name: "Create admin and sign in" }).click();
    await expect(page.getByTestId("setup-error")).toContainText("setup code is wrong");

    const code = /one-time setup code ([0-9A-Z-]{23})/.exec(server.output())?.[1];
    expect(code, "the server printed no setup code").toBeTruthy();
    await page.getByLabel("Setup code").fill(code!);
    await page.getByRole("button", { name: "Create admin and sign in" }).click();
    await expect(page).toHaveURL(`${base}/`);
    await expect(page.getByTestId("user-menu-name")).toHaveText("owner");
  } finally {
    await context.close();
    await server.stop();
  }
});
