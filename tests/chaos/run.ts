// `npm run chaos -- [--quick | --long] [--seed N] [--jobs N] [--kinds a,b]`: the fault
// campaign of issue #8. Prints the seed first and a summary last; exits 1 on a breach.
import "./esm-only-packages";
import { runCampaign, type CampaignMode } from "./campaign";
import { FAULT_KINDS, type FaultKind } from "./model";
import { formatSummary } from "./summary";
import { randomSeed } from "./prng";

function parseArgs(argv: string[]) {
  let mode: CampaignMode = "default";
  let seed: number | undefined;
  let jobs: number | undefined;
  let kinds: FaultKind[] | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      const v = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--quick") mode = "quick";
    else if (arg === "--long") mode = "long";
    else if (arg.startsWith("--seed")) seed = Number(value());
    else if (arg.startsWith("--jobs")) jobs = Number(value());
    else if (arg.startsWith("--kinds")) kinds = value().split(",") as FaultKind[];
    else if (arg === "--help" || arg === "-h") {
      console.log("npm run chaos -- [--quick | --long] [--seed N] [--jobs N] [--kinds kill-qemu-nbd,cancel,...]");
      console.log(`fault kinds: ${FAULT_KINDS.join(", ")}`);
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0)) throw new Error("--seed takes a whole number");
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1))
    throw new Error("--jobs takes a whole number above 0");
  for (const k of kinds ?? [])
    if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`unknown fault kind ${k}`);
  return { mode, seed: seed ?? randomSeed(), jobs, kinds };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let interrupted = false;
  const abort = new AbortController();
  // Ctrl-C: let the campaign's teardown (unmount, stop servers and Postgres) finish.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      abort.abort();
      console.log(`\n[chaos] ${signal}: stopping after clean-up (again to abort now)`);
      process.exitCode = 130;
    });
  }
  const summary = await runCampaign({
    seed: args.seed,
    mode: args.mode,
    jobs: args.jobs,
    kinds: args.kinds,
    signal: abort.signal,
  });
  console.log(formatSummary(summary));
  process.exit(summary.breaches.length > 0 ? 1 : interrupted ? 130 : 0);
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
