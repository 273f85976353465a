import { describe, expect, it } from "vitest";
import { startBackupBody } from "@/lib/api/schemas/backups";
import { exportNameOf, newJobId } from "@/lib/backup/create";
import { moverArgs } from "@/lib/backup/mover";
import { hostRefusal } from "@/lib/config/host-rules";
import { parseNbdUri } from "@/lib/nbd/uri";
import { parseHostRule, type HostRule } from "@/lib/config/host-rules";
import { NAME_PATTERN } from "@/lib/names";

describe("backup request schema", () => {
  it("defaults the mover to builtin", () => {
    const parsed = startBackupBody.parse({ vmName: "vm1", type: "full", disks: [{ source: "a.img" }] });
    expect(parsed.mover).toBe("builtin");
  });

  it("names duplicate disk ids, including the default ones", () => {
    const parsed = startBackupBody.safeParse({
      vmName: "vm1",
      type: "full",
      disks: [{ source: "a.img" }, { diskId: "disk0", source: "b.img" }],
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]).toMatchObject({
      path: ["disks", 1, "diskId"],
      message: expect.stringMatching(/duplicate disk id "disk0"/),
    });
  });

  it("wants sizes, not sources, for an external mover", () => {
    expect(
      startBackupBody.safeParse({ vmName: "vm1", type: "full", mover: "external", disks: [{ sizeBytes: 1048576 }] })
        .success,
    ).toBe(true);
    expect(
      startBackupBody.safeParse({ vmName: "vm1", type: "full", mover: "external", disks: [{ source: "a.img" }] })
        .success,
    ).toBe(false);
  });

  it("refuses unknown fields and movers", () => {
    expect(
      startBackupBody.safeParse({ vmName: "vm1", type: "full", disks: [{ source: "a.img" }], extra: 1 }).success,
    ).toBe(false);
    expect(
      startBackupBody.safeParse({ vmName: "vm1", type: "full", mover: "rsync", disks: [{ source: "a.img" }] }).success,
    ).toBe(false);
  });
});

describe("the built-in mover's command", () => {
  const raw = { kind: "file" as const, source: "a.img", path: "/src/a.img", format: "raw" as const, virtualSize: 1 };
  const qcow = { ...raw, path: "/src/b.qcow2", format: "qcow2" as const };
  const nbd = { kind: "nbd" as const, source: "nbd://h/x", uri: "nbd://h/x", format: "raw" as const, virtualSize: 1 };

  it("flushes, reports progress on fd 3, and skips zeros into a fresh target", () => {
    expect(moverArgs(raw, "nbd://127.0.0.1:10100/e", { destinationIsZero: true })).toEqual([
      "--flush",
      "--progress=3",
      "--destination-is-zero",
      "/src/a.img",
      "nbd://127.0.0.1:10100/e",
    ]);
  });

  it("does not claim a zero destination for an overlay (it reads through its backing file)", () => {
    expect(moverArgs(raw, "nbd://d", { destinationIsZero: false })).not.toContain("--destination-is-zero");
  });

  it("serves a qcow2 source through a private read-only qemu-nbd", () => {
    const args = moverArgs(qcow, "nbd://d", { destinationIsZero: true });
    expect(args.slice(args.indexOf("--"))).toEqual([
      "--",
      "[",
      "qemu-nbd",
      "--read-only",
      "--format=qcow2",
      "--cache=none",
      "--aio=native",
      "/src/b.qcow2",
      "]",
      "nbd://d",
    ]);
  });

  it("reads an NBD source by its URI", () => {
    expect(moverArgs(nbd, "nbd://d", { destinationIsZero: true }).slice(-2)).toEqual(["nbd://h/x", "nbd://d"]);
  });
});

describe("NBD source hosts", () => {
  const allowed = ["localhost", "127.0.0.1", "::1"].map((h) => parseHostRule(h)) as HostRule[];
  const refusal = (uri: string) => {
    const parsed = parseNbdUri(uri);
    return parsed.transport === "tcp" ? hostRefusal(parsed, allowed) : null;
  };
  it.each(["nbd://127.0.0.1:10809/x", "nbd://localhost/x", "nbd://[::1]:10809/x", "nbd+unix:///x?socket=/tmp/s"])(
    "allows %s",
    (uri) => {
      expect(refusal(uri)).toBeNull();
    },
  );
  it.each(["nbd://10.0.0.5/x", "nbd://example.com/x", "nbd://127.0.0.1.evil.com/x"])(
    "refuses %s before connecting",
    (uri) => {
      expect(refusal(uri)).toMatch(/NBDHUB_NBD_SOURCE_HOSTS/);
    },
  );
});

describe("names", () => {
  it("job ids and export names are valid API names", () => {
    expect(newJobId(new Date("2026-11-27T04:38:00Z"))).toMatch(/^20261127-043800-[0-9a-f]{6}$/);
    expect(newJobId()).toMatch(NAME_PATTERN);
    expect(exportNameOf("x".repeat(128), "disk0")).toHaveLength(128);
  });
});
