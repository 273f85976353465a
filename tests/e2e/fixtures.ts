// The `test` every e2e spec imports. Its `page` (and `context`, `request`) start signed in as
// the admin that global-setup.ts made, so specs stay about what the user does; a spec that
// needs someone else opens its own context with `signedInContext` or an empty one.
import { test as base, expect, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { E2E_ADMIN, E2E_AUTH_STATE, E2E_TOKEN, signInCookie } from "./global-setup";

export const test = base.extend({
  storageState: async ({}, use) => {
    await use(E2E_AUTH_STATE);
  },
});
export { expect };
export { E2E_ADMIN, E2E_TOKEN };

export const adminAuth = { authorization: `Bearer ${E2E_TOKEN}` };

/** A new browser context signed in as `username` (through the API: fast, no form). */
export async function signedInContext(
  browser: Browser,
  baseURL: string,
  username: string,
  password: string,
): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL, storageState: { cookies: [], origins: [] } });
  await context.addCookies([await signInCookie(baseURL, username, password)]);
  return context;
}

/** Sign in through the form, as a person does. */
export async function signInWithForm(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel("User name").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}
