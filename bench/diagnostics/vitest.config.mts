// Vitest for the measurements in bench/diagnostics/*.measure.ts: the test set-up's module
// resolution (paths, the server-only stub), none of its global set-up (each measurement starts
// its own server with its own embedded PostgreSQL).
import { defineConfig, mergeConfig } from "vitest/config";
import base from "../../vitest.config.mts";

export default mergeConfig(
  { ...base, test: { ...base.test, globalSetup: [], include: [] } },
  defineConfig({ test: { include: ["bench/diagnostics/**/*.measure.ts"], maxWorkers: 1 } }),
);
