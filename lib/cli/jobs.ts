// `nbdhub-client jobs` and `nbdhub-client status ID`: the hub's job list and one job, as a
// table for people or as the hub's JSON for scripts.
import type { JobsArgs, StatusArgs } from "./args";
import type { Io } from "./io";
import { connectHub } from "./io";
import { jobSummary, jobsTable } from "./table";
import type { BackupJob } from "./types";
import { EXIT } from "./exit-codes";

export async function runJobs(args: JobsArgs, io: Io): Promise<number> {
  const hub = await connectHub(args, io);
  const page = await hub.call<{ items: BackupJob[] }>("GET", `/backups?limit=${args.limit}`);
  io.out(args.json ? JSON.stringify(page.items, null, 2) : jobsTable(page.items));
  return EXIT.ok;
}

export async function runStatus(args: StatusArgs, io: Io): Promise<number> {
  const hub = await connectHub(args, io);
  const job = await hub.call<BackupJob>("GET", `/backups/${encodeURIComponent(args.id)}`);
  io.out(args.json ? JSON.stringify(job, null, 2) : jobSummary(job));
  return EXIT.ok;
}
