// nbdhub-client's argument rules (lib/cli/args.ts), the token file's mode rule and the qcow2
// header verdicts: pure logic.
import { describe, expect, it } from "vitest";
import { parseArgs } from "@/lib/cli/args";
import { inspectHeader } from "@/lib/cli/disk-source";
import { CliError } from "@/lib/cli/exit-codes";
import { unsafeMode } from "@/lib/cli/token";

const HUB = ["--hub", "http://hub:3000"];

function usage(argv: string[], env: Record<string, string> = {}): string {
  try {
    parseArgs(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(2);
    return (error as CliError).message;
  }
  throw new Error(`parsed: ${argv.join(" ")}`);
}

describe("parseArgs", () => {
  it("reads a backup with disks in order, in both option spellings", () => {
    const args = parseArgs([
      "backup",
      ...HUB,
      "--token-file=/t",
      "--vm",
      "web01",
      "--disk",
      "/a.img",
      "--disk=nbd://h/x",
    ]);
    expect(args).toEqual({
      command: "backup",
      hub: "http://hub:3000",
      tokenFile: "/t",
      vm: "web01",
      disks: ["/a.img", "nbd://h/x"],
      incremental: false,
      dirtyBitmap: undefined,
    });
  });

  it("takes the hub from NBDHUB_URL and drops a trailing slash", () => {
    expect(parseArgs(["jobs"], { NBDHUB_URL: "http://h:3000/" })).toMatchObject({ hub: "http://h:3000", limit: 20 });
  });

  it("refuses what a user gets wrong, saying what to do", () => {
    expect(usage(["backup", ...HUB, "--disk", "/a"])).toContain("backup needs --vm");
    expect(usage(["backup", ...HUB, "--vm", "v"])).toContain("at least one --disk");
    expect(usage(["backup", "--vm", "v", "--disk", "/a"])).toContain("--hub URL");
    expect(usage(["backup", ...HUB, "--vm", "v", "--disk"])).toBe("--disk needs a value");
    expect(usage(["backup", ...HUB, "--vm", "a b", "--disk", "/a"])).toContain("--vm");
    expect(usage(["backup", ...HUB, "--vm", "v", "--vm", "w", "--disk", "/a"])).toBe("--vm is given twice");
    expect(usage(["backup", ...HUB, "--bogus"])).toContain("unknown option --bogus");
    expect(usage(["frobnicate"])).toContain('unknown command "frobnicate"');
    expect(usage(["jobs", ...HUB, "--limit", "0"])).toContain("1 to 200");
    expect(usage(["status", ...HUB])).toContain("one job id");
    expect(usage(["jobs", "--hub", "ftp://h"])).toContain("http:// or https://");
    expect(usage(["jobs", "--hub", "http://u:p@h"])).toContain("--token-file");
  });

  it("never takes a token on the command line", () => {
    expect(usage(["jobs", ...HUB, "--token", "abc"])).toContain("never given on the command line");
    expect(usage(["jobs", ...HUB, "--token=abc"])).toContain("NBDHUB_TOKEN");
  });

  it("--incremental needs --dirty-bitmap, and the bitmap needs --incremental", () => {
    const base = ["backup", ...HUB, "--vm", "v", "--disk", "nbd://h/x"];
    expect(usage([...base, "--incremental"])).toContain("needs --dirty-bitmap NAME");
    expect(usage([...base, "--dirty-bitmap", "b0"])).toContain("goes with --incremental");
    expect(parseArgs([...base, "--incremental", "--dirty-bitmap", "b0"])).toMatchObject({
      incremental: true,
      dirtyBitmap: "b0",
    });
  });

  it("reads restore, status and help", () => {
    expect(parseArgs(["restore", ...HUB, "--job", "j1", "--disk", "disk1", "--to", "/r/", "--force"])).toMatchObject({
      command: "restore",
      job: "j1",
      disks: ["disk1"],
      to: "/r/",
      force: true,
    });
    expect(usage(["restore", ...HUB, "--job", "j1", "--disk", "d", "--disk", "d", "--to", "/r"])).toContain("twice");
    expect(parseArgs(["status", ...HUB, "abc", "--json"])).toMatchObject({ command: "status", id: "abc", json: true });
    expect(parseArgs([])).toEqual({ command: "help", topic: undefined });
    expect(parseArgs(["restore", "--help"])).toEqual({ command: "help", topic: "restore" });
    expect(parseArgs(["help", "jobs"])).toEqual({ command: "help", topic: "jobs" });
  });
});

describe("the token file's mode", () => {
  it("is safe only when neither group nor others have any access", () => {
    expect(unsafeMode(0o100600)).toBeNull();
    expect(unsafeMode(0o100400)).toBeNull();
    expect(unsafeMode(0o100644)).toBe("mode 644 lets other users read or change it");
    expect(unsafeMode(0o100620)).toContain("mode 620");
  });
});

describe("inspectHeader", () => {
  const qcow2 = (version: number, backing = 0n, incompatible = 0n) => {
    const h = Buffer.alloc(512);
    h.writeUInt32BE(0x514649fb, 0);
    h.writeUInt32BE(version, 4);
    h.writeBigUInt64BE(backing, 8);
    h.writeUInt32BE(backing ? 10 : 0, 16);
    h.writeBigUInt64BE(incompatible, 72);
    return h;
  };
  it("tells qcow2 from raw by the magic alone", () => {
    expect(inspectHeader(Buffer.alloc(512))).toEqual({ format: "raw" });
    expect(inspectHeader(Buffer.alloc(0))).toEqual({ format: "raw" });
    expect(inspectHeader(qcow2(3))).toEqual({ format: "qcow2", refusal: null });
    expect(inspectHeader(qcow2(2))).toEqual({ format: "qcow2", refusal: null });
  });
  const refusalOf = (header: Buffer) => {
    const verdict = inspectHeader(header);
    return verdict.format === "qcow2" ? verdict.refusal : "raw";
  };
  it("refuses a qcow2 naming a backing file or an external data file", () => {
    expect(refusalOf(qcow2(3, 0x200n))).toContain("backing file");
    expect(refusalOf(qcow2(3, 0n, 4n))).toContain("external data file");
    expect(refusalOf(qcow2(3).subarray(0, 40))).toContain("cut short");
  });
});
