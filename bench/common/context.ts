// What every figure gets: the mode, the server, the database, a folder and ports of its own
// for the bare baselines, and a place to put its table rows and raw numbers.
import type pg from "pg";
import type { BenchServer } from "./server";

export type Row = {
  figure: string;
  /** What is measured, with its unit. */
  metric: string;
  nbdhub: number | null;
  baseline: number | null;
  /** What the baseline is. */
  baselineName: string;
  unit: string;
  /** nbdhub / baseline; computed when both are numbers. */
  ratio?: number | null;
  note?: string;
};

export type Ctx = {
  quick: boolean;
  /** Temporary folder of the whole run (its path is in every process command line we start). */
  root: string;
  server: BenchServer;
  db: pg.Pool;
  /** Folder for the bare baselines' images and pid files. */
  bareDir: string;
  /** Ports for the bare baselines (never inside the server's range). */
  barePorts: { min: number; max: number };
  /**
   * Another server of the same build with settings of its own (`env`): in `<root>/<name>` (its
   * own data folder, log and embedded PostgreSQL), with `nbdPorts` NBD ports and an HTTP port
   * from a free block outside the run's. The figure stops it when done; the run's clean-up
   * stops it (and its PostgreSQL) when the figure could not.
   */
  startServer(options: { name: string; env: Record<string, string>; nbdPorts: number }): Promise<BenchServer>;
  log(message: string): void;
};

export type FigureResult = { rows: Row[]; data: Record<string, unknown> };
