// The Ports grid's state of each port, from allocations, running exports and the exports that
// ended lately (GET /nbd/qemu-nbd?recent=…): a port shows "crashed" while its latest ended
// export crashed and nothing holds it.
import { describe, expect, it } from "vitest";
import { portMap } from "@/app/ports/port-state";
import type { Allocation, Export } from "@/lib/queries/types";

const exp = (port: number, status: Export["status"], stoppedAt: string | null, jobId = "j"): Export => ({
  node: "hub-1",
  port,
  exportName: "e",
  filePath: "/x.qcow2",
  pid: null,
  jobId,
  vmName: "vm",
  diskId: "d0",
  status,
  startedAt: "2026-11-30T10:00:00.000Z",
  uri: `nbd://127.0.0.1:${port}/e`,
  readOnly: false,
  ownerKind: "backup",
  uptimeSeconds: null,
  exitCode: null,
  error: null,
  stoppedAt,
});

describe("portMap", () => {
  it("shows a crash until a later export on the port ends cleanly, and a running export or an allocation over it", () => {
    const allocation: Allocation = {
      node: "hub-1",
      port: 3,
      jobId: "k",
      vmName: "vm",
      exportName: "e",
      allocatedAt: "2026-11-30T10:00:00.000Z",
    };
    const states = portMap(
      { min: 1, max: 5 },
      [allocation],
      [
        exp(1, "crashed", "2026-11-30T10:05:00.000Z"),
        exp(2, "crashed", "2026-11-30T10:01:00.000Z"),
        exp(2, "stopped", "2026-11-30T10:02:00.000Z"),
        exp(3, "crashed", "2026-11-30T10:05:00.000Z"),
        exp(4, "crashed", "2026-11-30T10:05:00.000Z"),
        exp(4, "ready", null, "again"),
      ],
    ).map((p) => [p.port, p.state, p.export?.jobId]);
    expect(states).toEqual([
      [1, "crashed", "j"],
      [2, "free", undefined],
      [3, "allocated", "j"],
      [4, "exporting", "again"],
      [5, "free", undefined],
    ]);
  });
});
