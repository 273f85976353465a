// The Nodes page and the node filters (issue 18), with a second real server on the e2e server's
// own database (its embedded PostgreSQL, read from its data directory): both nodes show as up
// with their jobs and ports; the node filter narrows the jobs and the exports (and stays in the
// URL), and Stop on the other node's export stops it there (sent through Postgres); the Ports
// page names its node
// and links the other; after the second server is killed
// (SIGKILL) and its lease (4 s) passes, the Nodes page shows it as lost.
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import { freePortRange } from "../helpers/ports";
import { startServer, type TestServer } from "../helpers/server";
import { adminAuth, E2E_TOKEN, expect, test } from "./fixtures";
import { externalJob } from "../helpers/external-job";
import { E2E_NODE, E2E_STATE } from "./global-setup";

const NODE_B = "e2e-node-b";
const NODE_C = "e2e-node-c";

/** The e2e server's database: its embedded PostgreSQL's address and password, from its data directory. */
function e2eDatabaseUrl(): string {
  const { dataDir } = JSON.parse(readFileSync(E2E_STATE, "utf8")) as { dataDir: string };
  const meta = JSON.parse(readFileSync(path.join(dataDir, "postgres", "nbdhub-postgres.json"), "utf8")) as {
    user: string;
    password: string;
    port: number;
    database: string;
  };
  return `postgresql://${meta.user}:${encodeURIComponent(meta.password)}@127.0.0.1:${meta.port}/${meta.database}`;
}

const external = (vmName: string) => externalJob(vmName, { sizeBytes: 1024 * 1024 });

type Job = { id: string; node: string; status: string };

let nodeB: TestServer | undefined;
let nodeC: TestServer | undefined;
test.afterAll(async () => {
  for (const node of [nodeB, nodeC]) {
    if (!node) continue;
    if (node.alive()) await node.stop();
    await rm(node.dataDir, { recursive: true, force: true });
  }
});

test("the Nodes page shows all three nodes, the node filter narrows the lists, a killed node turns lost", async ({
  page,
  request,
}, testInfo) => {
  const range = await freePortRange(4);
  nodeB = await startServer({
    DATABASE_URL: e2eDatabaseUrl(),
    NBDHUB_NODE_NAME: NODE_B,
    NBDHUB_PORT_RANGE: `${range.min}-${range.max}`,
    NBDHUB_NODE_HEARTBEAT_SECONDS: "1",
    NBDHUB_NODE_LEASE_SECONDS: "4",
    NBDHUB_POOL_SAMPLE_SECONDS: "1",
    // The same bootstrap token: a node with another value would revoke the e2e server's (one
    // bootstrap token per database, rotated by a new value).
    NBDHUB_BOOTSTRAP_TOKEN: E2E_TOKEN,
  });
  // A third node, idle: the page lists all three.
  const rangeC = await freePortRange(4);
  nodeC = await startServer({
    DATABASE_URL: e2eDatabaseUrl(),
    NBDHUB_NODE_NAME: NODE_C,
    NBDHUB_PORT_RANGE: `${rangeC.min}-${rangeC.max}`,
    NBDHUB_NODE_HEARTBEAT_SECONDS: "1",
    NBDHUB_NODE_LEASE_SECONDS: "4",
    NBDHUB_POOL_SAMPLE_SECONDS: "1",
    NBDHUB_BOOTSTRAP_TOKEN: E2E_TOKEN,
  });
  const b = nodeB;

  // A running job on each node, through each node's API: each holds a port and a qemu-nbd.
  const stamp = Date.now().toString(36);
  const [vmA, vmB] = [`nodes-a-${stamp}`, `nodes-b-${stamp}`];
  const postedA = await request.post("/api/v1/backups", { headers: adminAuth, data: external(vmA) });
  expect(postedA.status(), await postedA.text()).toBe(202);
  const jobA = (await postedA.json()) as Job;
  const postedB = await b.api<Job>("POST", "/backups", external(vmB));
  expect(postedB.status, JSON.stringify(postedB.body)).toBe(202);
  const jobB = postedB.body;
  expect([jobA.node, jobB.node]).toEqual([E2E_NODE, NODE_B]);

  // The Nodes page, from the main navigation: both up, B with its range, port and job.
  await page.goto("/");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Nodes", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Nodes", level: 1 })).toBeVisible();
  await expect(page.getByText("shows as lost", { exact: false })).toBeVisible();
  const rowA = page.locator(`[data-testid="node-row"][data-node="${E2E_NODE}"]`);
  const rowB = page.locator(`[data-testid="node-row"][data-node="${NODE_B}"]`);
  await expect(rowA.getByTestId("node-row-status")).toHaveText("up");
  await expect(rowB.getByTestId("node-row-status")).toHaveText("up");
  const rowC = page.locator(`[data-testid="node-row"][data-node="${NODE_C}"]`);
  await expect(rowC.getByTestId("node-row-status")).toHaveText("up");
  await expect(page.getByTestId("nodes-summary")).toContainText("3 nodes, all up");
  await expect(rowA).toContainText("this console's node");
  await expect(rowB).toContainText(`${range.min}–${range.max}`);
  await expect(rowB).toContainText(`${b.url}/api/v1`);
  await expect(rowB.getByTestId("node-row-ports")).toContainText("1 / 4");
  await expect(rowB.getByTestId("node-row-jobs")).toHaveText("1");
  await expect(rowB.getByTestId("node-row-seen")).toHaveAttribute("title", /\d/);
  await page.screenshot({ path: testInfo.outputPath("nodes-up.png"), fullPage: true });

  // Jobs: the node filter keeps B's job, in the URL; a link with A's node keeps A's.
  await page.goto("/jobs");
  const rows = page.getByTestId("job-row");
  await expect(rows.filter({ hasText: vmA })).toHaveCount(1);
  await expect(rows.filter({ hasText: vmB })).toHaveCount(1);
  await page.getByLabel("Node", { exact: true }).selectOption(NODE_B);
  await expect(page).toHaveURL(new RegExp(`[?&]node=${NODE_B}`));
  await expect(rows.filter({ hasText: vmA })).toHaveCount(0);
  await expect(rows.filter({ hasText: vmB })).toHaveCount(1);
  const shownNodes = await page.getByTestId("job-row-node").allTextContents();
  expect(new Set(shownNodes)).toEqual(new Set([NODE_B]));
  await page.screenshot({ path: testInfo.outputPath("jobs-node-filter.png"), fullPage: true });
  await page.goto(`/jobs?node=${E2E_NODE}`);
  await expect(page.getByLabel("Node", { exact: true })).toHaveValue(E2E_NODE);
  await expect(rows.filter({ hasText: vmA })).toHaveCount(1);
  await expect(rows.filter({ hasText: vmB })).toHaveCount(0);

  // Exports: every node's, then B's only.
  await page.goto("/exports");
  const exportsOf = (vm: string) => page.getByTestId("export-row").filter({ hasText: vm });
  await expect(exportsOf(vmA)).toHaveAttribute("data-node", E2E_NODE);
  await expect(exportsOf(vmB)).toHaveAttribute("data-node", NODE_B);
  await page.getByLabel("Node", { exact: true }).selectOption(NODE_B);
  await expect(page).toHaveURL(new RegExp(`[?&]node=${NODE_B}`));
  await expect(exportsOf(vmA)).toHaveCount(0);
  await expect(exportsOf(vmB)).toHaveCount(1);
  await page.screenshot({ path: testInfo.outputPath("exports-node-filter.png"), fullPage: true });
  // Stop on another node's export: this console's node hands it to B through Postgres (decision
  // 030), B stops its own qemu-nbd, and the answer is B's.
  await exportsOf(vmB)
    .getByRole("button", { name: /^Stop the export/ })
    .click();
  await page.getByRole("button", { name: "Stop export" }).click();
  await expect(page.getByText(/^Export on port \d+ stopped$/)).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath("exports-stop-other-node.png"), fullPage: true });
  await expect(exportsOf(vmB)).toHaveCount(0, { timeout: 15_000 });
  expect((await b.api<{ count: number }>("GET", `/nbd/qemu-nbd?node=${NODE_B}`)).body.count).toBe(0);

  // Ports: this console's node's pool, named, with a link to B's.
  await page.goto("/ports");
  await expect(page.getByTestId("ports-node")).toContainText(`The pool of node ${E2E_NODE}`);
  await expect(page.getByTestId("ports-node").getByRole("link", { name: NODE_B })).toHaveAttribute(
    "href",
    `${b.url}/ports`,
  );
  await page.screenshot({ path: testInfo.outputPath("ports-node.png"), fullPage: true });

  // Each node ends its own job before B goes.
  expect((await request.post(`/api/v1/backups/${jobA.id}/cancel`, { headers: adminAuth })).status()).toBe(202);
  expect((await b.api("POST", `/backups/${jobB.id}/cancel`)).status).toBe(202);
  await expect
    .poll(async () => (await b.api<Job>("GET", `/backups/${jobB.id}`)).body.status, { timeout: 15_000 })
    .toBe("cancelled");

  // B dies without a word: once its last heartbeat is older than the lease, it reads lost.
  await b.kill();
  await page.goto("/nodes");
  await expect(rowB.getByTestId("node-row-status")).toHaveText("lost", { timeout: 20_000 });
  await expect(rowA.getByTestId("node-row-status")).toHaveText("up");
  await expect(rowC.getByTestId("node-row-status")).toHaveText("up");
  await expect(page.getByTestId("nodes-summary")).toContainText("3 nodes, 1 lost");
  await page.screenshot({ path: testInfo.outputPath("nodes-lost.png"), fullPage: true });

  // The dashboard's pool charts: all nodes summed, or one node.
  await page.goto("/");
  const poolOf = page.getByLabel("Pool of");
  await expect(poolOf).toHaveValue("");
  await expect(page.getByTestId("pool-history-1h")).toContainText("All nodes");
  await poolOf.selectOption(NODE_B);
  // B's samples stay after it died: its port, held while its job ran, is the peak.
  await expect(page.getByTestId("pool-history-1h")).toContainText(`Node ${NODE_B}`);
  await expect(page.getByTestId("pool-history-1h")).toContainText("peak 1 of 4");
  await page.screenshot({ path: testInfo.outputPath("dashboard-pool-node.png"), fullPage: true });
});
