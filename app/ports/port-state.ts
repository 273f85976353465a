// What a port is doing, from the pool's allocations, the running exports and those that ended
// lately (a port is "crashed" while its latest ended export crashed and nothing holds it).
import { RUNNING_EXPORT_STATUSES, type Allocation, type Export } from "@/lib/queries/types";

/** How long a crash stays on the grid (GET /nbd/qemu-nbd?recent=…). */
export const CRASH_VISIBLE_SECONDS = 900;

type PortState = "free" | "allocated" | "exporting" | "crashed";
export type PortInfo = { port: number; state: PortState; allocation?: Allocation; export?: Export };

export const PORT_STATES: { state: PortState; label: string; cell: string; swatch: string; text: string }[] = [
  {
    state: "free",
    label: "Free",
    cell: "bg-white text-slate-500 ring-slate-200 hover:ring-slate-400 dark:bg-slate-900 dark:text-slate-500 dark:ring-slate-800 dark:hover:ring-slate-600",
    swatch: "bg-white ring-1 ring-slate-300 dark:bg-slate-900 dark:ring-slate-600",
    text: "Ready to be handed out",
  },
  {
    state: "allocated",
    label: "Allocated",
    cell: "bg-amber-100 text-amber-900 ring-amber-300 hover:ring-amber-500 dark:bg-amber-400/15 dark:text-amber-200 dark:ring-amber-500/40",
    swatch: "bg-amber-300 dark:bg-amber-400/70",
    text: "Held by a job, no export yet",
  },
  {
    state: "exporting",
    label: "Exporting",
    cell: "bg-sky-500 text-white ring-sky-600 hover:ring-sky-800 dark:bg-sky-500/80 dark:ring-sky-400",
    swatch: "bg-sky-500",
    text: "qemu-nbd serving a target",
  },
  {
    state: "crashed",
    label: "Crashed",
    cell: "bg-rose-500 text-white ring-rose-600 hover:ring-rose-800 dark:bg-rose-500/80 dark:ring-rose-400",
    swatch: "bg-rose-500",
    text: "qemu-nbd died on its own",
  },
];

export const stateStyle = (state: PortState) => PORT_STATES.find((s) => s.state === state)!;

export function portMap(range: { min: number; max: number }, allocations: Allocation[], exports: Export[]): PortInfo[] {
  const byPort = new Map(allocations.map((a) => [a.port, a]));
  const live = new Map<number, Export>();
  const latestEnded = new Map<number, Export>();
  for (const e of exports) {
    if (RUNNING_EXPORT_STATUSES.includes(e.status)) live.set(e.port, e);
    else {
      const seen = latestEnded.get(e.port);
      if (!seen || (e.stoppedAt ?? e.startedAt) > (seen.stoppedAt ?? seen.startedAt)) latestEnded.set(e.port, e);
    }
  }
  const crashed = new Map([...latestEnded].filter(([, e]) => e.status === "crashed"));
  const ports: PortInfo[] = [];
  for (let port = range.min; port <= range.max; port += 1) {
    const allocation = byPort.get(port);
    const exp = live.get(port) ?? crashed.get(port);
    const state: PortState = live.has(port)
      ? "exporting"
      : allocation
        ? "allocated"
        : crashed.has(port)
          ? "crashed"
          : "free";
    ports.push({ port, state, allocation, export: exp });
  }
  return ports;
}

export function describePort(p: PortInfo): string {
  const who = p.allocation ?? p.export;
  const job = who ? ` · ${who.vmName}${p.export ? `/${p.export.diskId}` : ""} (job ${who.jobId})` : "";
  return `Port ${p.port}: ${p.state}${job}`;
}
