// The qemu-nbd command line and what nbdhub reads back from a process's argv.
import { describe, expect, it } from "vitest";
import { formatCommand, isInsideDir, parseQemuNbdArgv, pidFileFor, qemuNbdArgs } from "@/lib/nbd/qemu-nbd-command";
import { conflict } from "@/lib/errors";
import { isAddressInUse, startFailure } from "@/lib/nbd/start-errors";

const base = {
  exportName: "vm1-disk0",
  bind: "127.0.0.1",
  port: 10100,
  shared: 10,
  pidFile: "/data/run/qemu-nbd-10100-exp_1.pid",
  cache: "writeback" as const,
  readOnly: false,
  file: "/data/repository/vm1/disk0.qcow2",
};

describe("qemu-nbd command", () => {
  it("builds the documented named options, file last", () => {
    expect(qemuNbdArgs(base)).toEqual([
      "--format=qcow2",
      "--export-name=vm1-disk0",
      "--bind=127.0.0.1",
      "--port=10100",
      "--shared=10",
      "--persistent",
      "--pid-file=/data/run/qemu-nbd-10100-exp_1.pid",
      "--cache=writeback",
      "--discard=unmap",
      "--detect-zeroes=unmap",
      "/data/repository/vm1/disk0.qcow2",
    ]);
  });

  it("requires TLS with the PSK folder (its path only, commas doubled for qemu), before the file", () => {
    const args = qemuNbdArgs({ ...base, tls: { credsId: "nbdhub-tls", dir: "/data/run,x/tls-exp_1" } });
    expect(args.slice(-3)).toEqual([
      "--object=tls-creds-psk,id=nbdhub-tls,endpoint=server,dir=/data/run,,x/tls-exp_1",
      "--tls-creds=nbdhub-tls",
      base.file,
    ]);
    expect(() => qemuNbdArgs({ ...base, tls: { credsId: "t", dir: "run/tls" } })).toThrow(/absolute key folder/);
  });

  it("adds --read-only before the file when asked, and follows the configured bind, shared and cache", () => {
    const args = qemuNbdArgs({ ...base, readOnly: true, bind: "0.0.0.0", shared: 3, cache: "none" });
    expect(args.slice(-2)).toEqual(["--read-only", base.file]);
    expect(args).toContain("--bind=0.0.0.0");
    expect(args).toContain("--shared=3");
    expect(args).toContain("--cache=none");
    expect(args).not.toContain("-t");
  });

  it("refuses relative paths, which could be read as options", () => {
    expect(() => qemuNbdArgs({ ...base, file: "-x.qcow2" })).toThrow(/absolute/);
    expect(() => qemuNbdArgs({ ...base, pidFile: "run/x.pid" })).toThrow(/absolute/);
  });

  it("quotes only what needs quoting in the logged command", () => {
    expect(formatCommand("qemu-nbd", ["--port=1", "/a b/it's.qcow2"])).toBe(`qemu-nbd --port=1 '/a b/it'\\''s.qcow2'`);
  });

  it("names pid files by port and export id", () => {
    expect(pidFileFor("/d/run", 10101, "exp_ab")).toBe("/d/run/qemu-nbd-10101-exp_ab.pid");
  });

  it("reads pid file, port and export name back from argv, in either option form", () => {
    expect(parseQemuNbdArgv(["/usr/bin/qemu-nbd", ...qemuNbdArgs(base)])).toEqual({
      pidFile: base.pidFile,
      port: 10100,
      exportName: "vm1-disk0",
    });
    expect(parseQemuNbdArgv(["qemu-nbd", "--pid-file", "/r/x.pid", "-p", "9", "-x", "e", "f"])).toEqual({
      pidFile: "/r/x.pid",
      port: 9,
      exportName: "e",
    });
    expect(parseQemuNbdArgv(["/usr/bin/node", "--pid-file=/r/x.pid"])).toBeNull();
    expect(parseQemuNbdArgv([])).toBeNull();
  });

  it("tells whether a file lies inside a directory", () => {
    expect(isInsideDir("/d/run", "/d/run/a.pid")).toBe(true);
    expect(isInsideDir("/d/run", "/d/run")).toBe(false);
    expect(isInsideDir("/d/run", "/d/runner/a.pid")).toBe(false);
    expect(isInsideDir("/d/run", "/d/run/../x.pid")).toBe(false);
  });
});

describe("a qemu-nbd that failed to start", () => {
  it("turns 'Address already in use' into a 409 that startOnFreePort retries", () => {
    const e = startFailure(10100, "qemu-nbd: Failed to find an available port: Address already in use", {
      exitCode: 1,
    });
    expect(e).toMatchObject({ code: "port_in_use", kind: "conflict" });
    expect(isAddressInUse(e)).toBe(true);
    expect(isAddressInUse(conflict("port_in_use", "allocated to job x"))).toBe(false);
  });

  it("answers a refused image with 422 and qemu-nbd's own words", () => {
    const words = "qemu-nbd: Failed to blk_new_open '/r/raw.img': Image is not in qcow2 format";
    expect(startFailure(10100, words, { exitCode: 1 })).toMatchObject({
      code: "qemu_nbd_refused",
      kind: "invalid",
      message: words,
    });
  });

  it("recognises an image locked by another process", () => {
    const e = startFailure(
      1,
      "qemu-nbd: Failed to blk_new_open '/r/a.qcow2': Failed to get \"write\" lock\nIs another process using the image [/r/a.qcow2]?",
      { exitCode: 1 },
    );
    expect(e).toMatchObject({ code: "file_in_use", kind: "conflict" });
  });

  it("says how it ended when qemu-nbd said nothing, and reports a timeout as such", () => {
    expect(startFailure(1, "", { exitCode: null, signal: "SIGKILL" }).message).toMatch(/signal SIGKILL/);
    expect(startFailure(1, "", { timedOutMs: 10_000 })).toMatchObject({
      code: "export_start_timeout",
      kind: "timeout",
    });
  });
});
