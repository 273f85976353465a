// Shapes of the dashboard's pool history (GET /api/v1/stats/pool-history), shared by the
// server (lib/stats/dashboard.ts) and the console (lib/queries/types.ts).
export type PoolHistoryRange = "1h" | "24h";

export type PoolHistory = {
  range: PoolHistoryRange;
  from: string;
  to: string;
  bucketSeconds: number;
  points: { at: string; total: number; allocated: number; allocatedMax: number; exports: number; bytesMoved: number }[];
};
