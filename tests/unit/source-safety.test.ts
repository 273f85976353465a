// Pure rules of docs/decisions/009-source-safety.md: the format comes from the name, NBD URIs
// are read strictly and rebuilt, host rules take ports, and the inspection limiter bounds runs.
import { describe, expect, it } from "vitest";
import { hostRefusal } from "@/lib/config/host-rules";
import { canonicalNbdUri, NbdUriRefused, parseNbdUri } from "@/lib/nbd/uri";
import { formatFromName } from "@/lib/backup/source-format";
import { parseHostRule, type HostRule } from "@/lib/config/host-rules";
import { BusyError, Limiter, mapLimited } from "@/lib/proc/limiter";

describe("source format by name", () => {
  it.each([
    ["vm/disk.qcow2", "qcow2"],
    ["DISK.QCOW2", "qcow2"],
    ["disk.img", "raw"],
    ["disk.raw", "raw"],
    ["disk.qcow2.img", "raw"],
    ["qcow2", "raw"],
    ["disk.qcow", "raw"],
  ])("%s is %s", (name, format) => expect(formatFromName(name)).toBe(format));
});

describe("host rules", () => {
  it.each([
    ["localhost", { host: "localhost", port: null }],
    ["LocalHost:10809", { host: "localhost", port: 10809 }],
    ["10.0.0.5:1", { host: "10.0.0.5", port: 1 }],
    ["::1", { host: "::1", port: null }],
    ["[::1]", { host: "::1", port: null }],
    ["[::1]:10809", { host: "::1", port: 10809 }],
    ["[fe80::1]:65535", { host: "fe80::1", port: 65535 }],
  ])("reads %s", (entry, rule) => expect(parseHostRule(entry)).toEqual(rule));

  const bad = ["", "host:", "host:0", "host:65536", "host:x", "[127.0.0.1]:1", "[::1]:", "a b", "-host", "host_name"];
  bad.push("::1:x:y");
  it.each(bad)("refuses %j", (entry) => expect(parseHostRule(entry)).toBeNull());

  const rules = ["127.0.0.1:10809", "localhost", "[::1]:10810"].map((e) => parseHostRule(e)) as HostRule[];
  it.each([
    ["nbd://127.0.0.1:10809/x", null],
    ["nbd://127.0.0.1/x", null],
    ["nbd://localhost:1/x", null],
    ["nbd://[::1]:10810/", null],
    ["nbd://127.0.0.1:10810/x", /port 10810 of 127.0.0.1 is not allowed/],
    ["nbd://[::1]/", /port 10809 of ::1/],
    ["nbd://127.0.0.2:10809/", /host 127.0.0.2 is not in NBDHUB_NBD_SOURCE_HOSTS/],
    ["nbds://LOCALHOST:5/", null],
  ])("%s: %s", (uri, expected) => {
    const parsed = parseNbdUri(uri);
    if (parsed.transport !== "tcp") throw new Error("tcp expected");
    const why = hostRefusal(parsed, rules);
    if (expected === null) expect(why).toBeNull();
    else expect(why).toMatch(expected);
  });
});

describe("NBD URIs", () => {
  it.each([
    ["nbd+unix:///x?socket=/etc/passwd&tls-psk-file=/k", /tls-psk-file/],
    ["nbds://h/x?tls-certificates=/etc", /tls-certificates/],
    ["nbd://h/x?tls-verify-peer=false", /tls-verify-peer/],
    ["nbd://h/x?socket=/s", /only for nbd\+unix/],
    ["nbd://h/x?anything=1", /query parameter anything/],
    ["nbd+unix:///x", /exactly one socket/],
    ["nbd+unix:///x?socket=/a&socket=/b", /exactly one socket/],
    ["nbd+unix:///x?socket=relative", /absolute path/],
    ["nbd+unix:///x?socket=/tmp/a%20b", /absolute path/],
    ["nbd+unix://host/x?socket=/s", /names no host/],
    ["nbd://user@h/x", /user names/],
    ["nbd://u:p@h/x", /user names/],
    ["nbd://h/x#frag", /fragment/],
    ["nbd://h\\@evil/x", /backslash/],
    ["nbd://h /x", /spaces/],
    ["nbd+vsock:///1", /scheme nbd\+vsock/],
    ["nbd+ssh://h/x", /scheme/],
    ["nbd://%6cocalhost/x", /plain host/],
    ["nbd://h/%zz", /percent-encoding/],
    ["nbd://h/a%00b", /control characters/],
    ["nbd://h:0/x", /port/],
  ])("refuses %s", (uri, why) => {
    let error: unknown;
    try {
      parseNbdUri(uri);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NbdUriRefused);
    expect((error as NbdUriRefused).code).toBe("source_not_allowed");
    expect((error as Error).message).toMatch(why);
  });

  it("gives the tools a URI rebuilt from what was checked", () => {
    expect(canonicalNbdUri(parseNbdUri("nbd://LOCALHOST/my%20disk"))).toBe("nbd://localhost:10809/my%20disk");
    expect(canonicalNbdUri(parseNbdUri("nbds://[0:0::1]:10810/a/b"))).toBe("nbds://[::1]:10810/a%2Fb");
    const unix = "nbd+unix:///e?socket=/run/nbd/vm1.sock";
    expect(canonicalNbdUri(parseNbdUri(unix))).toBe(unix);
    expect(canonicalNbdUri(parseNbdUri("nbds+unix:///?socket=/run/s"))).toBe("nbds+unix:///?socket=/run/s");
  });
});

describe("inspection limiter", () => {
  const gate = () => {
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    return { open, opened };
  };

  it("runs at most `concurrency` tasks, queues up to `maxQueue`, refuses the next at once", async () => {
    const limiter = new Limiter({ concurrency: 2, maxQueue: 2, maxWaitMs: 60_000 });
    const g = gate();
    let running = 0;
    let most = 0;
    const task = async () => {
      running += 1;
      most = Math.max(most, running);
      await g.opened;
      running -= 1;
    };
    const accepted = [0, 1, 2, 3].map(() => limiter.run(task));
    await expect(limiter.run(task)).rejects.toBeInstanceOf(BusyError);
    expect(limiter.stats()).toMatchObject({ limit: 2, running: 2, queued: 2, rejected: 1 });
    g.open();
    await Promise.all(accepted);
    expect(most).toBe(2);
    expect(limiter.stats()).toMatchObject({ running: 0, queued: 0, peak: 2, runs: 4, rejected: 1 });
  });

  it("refuses a task that waited too long, and frees its place in the line", async () => {
    const limiter = new Limiter({ concurrency: 1, maxQueue: 1, maxWaitMs: 30 });
    const g = gate();
    const first = limiter.run(() => g.opened);
    const error = await limiter.run(async () => "never").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BusyError);
    expect((error as BusyError).reason).toBe("wait_timeout");
    expect(limiter.stats().queued).toBe(0);
    g.open();
    await first;
    await expect(limiter.run(async () => "now")).resolves.toBe("now");
  });

  it("lets a patient task wait beyond the line and the time limit, still within the concurrency", async () => {
    const limiter = new Limiter({ concurrency: 1, maxQueue: 0, maxWaitMs: 1 });
    const g = gate();
    const first = limiter.run(() => g.opened);
    const patient = limiter.run(async () => limiter.stats().running, { patient: true });
    await expect(limiter.run(async () => 1)).rejects.toBeInstanceOf(BusyError);
    await new Promise((r) => setTimeout(r, 20));
    g.open();
    await first;
    await expect(patient).resolves.toBe(1);
  });

  it("a failing task gives its slot back", async () => {
    const limiter = new Limiter({ concurrency: 1, maxQueue: 1, maxWaitMs: 1000 });
    await expect(limiter.run(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(limiter.stats().running).toBe(0);
  });

  it("mapLimited keeps order, bounds width and stops taking items after a failure", async () => {
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    const out = await mapLimited([1, 2, 3, 4, 5], 2, async (n) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      running -= 1;
      return n * 10;
    });
    expect(out).toEqual([10, 20, 30, 40, 50]);
    expect(most).toBe(2);
    await expect(
      mapLimited([1, 2, 3, 4, 5, 6], 1, async (n) => {
        seen.push(n);
        if (n === 2) throw new Error("stop");
        return n;
      }),
    ).rejects.toThrow("stop");
    expect(seen).toEqual([1, 2]);
  });
});
