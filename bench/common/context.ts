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
  log(message: string): void;
};

export type FigureResult = { rows: Row[]; data: Record<string, unknown> };
