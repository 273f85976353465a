// The fault campaign's world (tests/chaos/environment.ts) for one test file: set up, with its
// server up, before the file's tests, and torn down after them; the tear-down must find
// nothing wrong (nothing left running, a server that stopped when asked).
import { afterAll, beforeAll, expect } from "vitest";
import { ChaosEnvironment } from "../chaos/environment";

export function useChaosEnvironment(world: Parameters<ChaosEnvironment["setup"]>[0]): ChaosEnvironment {
  const env = new ChaosEnvironment(() => undefined);
  beforeAll(async () => {
    await env.setup(world);
    await env.startServer();
  }, 120_000);
  afterAll(async () => {
    expect(await env.teardown()).toEqual([]);
  }, 120_000);
  return env;
}
