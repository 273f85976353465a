// `npm run chaos`: the fault campaign of issue #8 (tests/chaos/run.ts). Same set-up as
// `npm test` (tools, Prisma client, a build when stale), then the campaign; arguments pass
// through: `npm run chaos -- --quick`, `--long`, `--seed N`, `--jobs N`, `--kinds a,b`.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { ensureBuild, root, setup } from "./setup.mjs";

setup({ forTests: true });
ensureBuild();
const r = spawnSync(
  process.execPath,
  [
    "--conditions=react-server",
    "--import",
    "tsx",
    path.join(root, "tests", "chaos", "run.ts"),
    ...process.argv.slice(2),
  ],
  {
    stdio: "inherit",
    cwd: root,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
  },
);
process.exit(r.status ?? 1);
