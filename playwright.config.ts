// End-to-end tests in Debian's Chromium against the real console (built app, real Postgres,
// real qemu-nbd). tests/e2e/global-setup.ts starts the server and its database.
import { defineConfig } from "@playwright/test";

// Chosen once in the main process; workers inherit the environment and read the same value.
process.env.NBDHUB_E2E_PORT ??= String(39000 + (process.pid % 1000));
process.env.NBDHUB_E2E_URL ??= `http://127.0.0.1:${process.env.NBDHUB_E2E_PORT}`;

export default defineConfig({
  testDir: "tests/e2e",
  outputDir: "tests/artifacts/e2e",
  forbidOnly: Boolean(process.env.CI),
  retries: process.env.CI ? 1 : 0,
  workers: 1,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: [["list"], ["json", { outputFile: "tests/artifacts/e2e-results.json" }]],
  globalSetup: "./tests/e2e/global-setup.ts",
  use: {
    baseURL: process.env.NBDHUB_E2E_URL,
    trace: "on-first-retry",
    screenshot: "on",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    },
  },
});
