import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "@/lib/config/env";

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("configuration", () => {
  it("has defaults that serve a single host", () => {
    const config = parseConfig({});
    expect(config.portRange).toEqual({ min: 10100, max: 10199 });
    expect(config.nbdBind).toBe("127.0.0.1");
    expect(config.dataDir).toBe(path.resolve("./data"));
    expect(config.repositoryDir).toBe(path.resolve("./data/repository"));
    expect(config.sourcesDir).toBe(path.resolve("./data/sources"));
    expect(config.qemuNbdShared).toBe(10);
    expect(config.qemuNbdCache).toBe("writeback");
    expect(config.maxParallelDisks).toBe(4);
    expect(config.staleAfterSeconds).toBe(300);
    expect(config.port).toBe(3000);
    expect(config.host).toBe("127.0.0.1");
    expect(config.databaseUrl).toBeUndefined();
  });

  it.each([
    [{}, "off"],
    [{ NBDHUB_NBD_BIND: "127.0.0.1" }, "off"],
    [{ NBDHUB_NBD_BIND: "127.0.1.1" }, "off"],
    [{ NBDHUB_NBD_BIND: "0.0.0.0" }, "required"],
    [{ NBDHUB_NBD_BIND: "192.168.1.5" }, "required"],
    [{ NBDHUB_NBD_BIND: "0.0.0.0", NBDHUB_NBD_TLS: "off" }, "off"],
    [{ NBDHUB_NBD_BIND: "127.0.0.1", NBDHUB_NBD_TLS: "required" }, "required"],
    [{ NBDHUB_NBD_BIND: "0.0.0.0", NBDHUB_NBD_TLS: "" }, "required"],
  ])("NBD TLS for %j is %s (required whenever exports listen beyond loopback)", (env, expected) => {
    expect(parseConfig(env).nbdTls).toBe(expected);
  });

  it("derives the repository and sources from the data directory", () => {
    const config = parseConfig({ NBDHUB_DATA_DIR: "/srv/hub" });
    expect(config.repositoryDir).toBe("/srv/hub/repository");
    expect(config.sourcesDir).toBe("/srv/hub/sources");
  });

  it.each([
    ["NBDHUB_PORT_RANGE", "10199-10100", /NBDHUB_PORT_RANGE.*first port must not be above the last/],
    ["NBDHUB_PORT_RANGE", "lots", /NBDHUB_PORT_RANGE.*a range of ports like 10100-10199/],
    ["NBDHUB_PORT_RANGE", "80-90", /NBDHUB_PORT_RANGE.*between 1024 and 65535/],
    ["NBDHUB_NBD_BIND", "300.1.1.1", /NBDHUB_NBD_BIND.*IPv4 address/],
    ["NBDHUB_NBD_TLS", "on", /NBDHUB_NBD_TLS="on".*required or off/],
    ["NBDHUB_QEMU_NBD_SHARED", "0", /NBDHUB_QEMU_NBD_SHARED.*from 1 to 64/],
    ["NBDHUB_QEMU_NBD_SHARED", "ten", /NBDHUB_QEMU_NBD_SHARED.*whole number/],
    ["NBDHUB_QEMU_NBD_CACHE", "fast", /NBDHUB_QEMU_NBD_CACHE.*one of none, writeback/],
    ["PORT", "70000", /PORT.*between 1 and 65535/],
    ["DATABASE_URL", "mysql://x", /DATABASE_URL=\(hidden\).*postgresql:\/\//],
    ["NBDHUB_BOOTSTRAP_TOKEN", "short", /NBDHUB_BOOTSTRAP_TOKEN=\(hidden\).*at least 32 characters/],
    ["NBDHUB_NBD_SOURCE_HOSTS", "localhost:99999", /NBDHUB_NBD_SOURCE_HOSTS.*optionally with :port/],
    ["NBDHUB_NBD_SOURCE_HOSTS", "host:port", /NBDHUB_NBD_SOURCE_HOSTS.*optionally with :port/],
    ["NBDHUB_NBD_SOURCE_HOSTS", "[127.0.0.1]:10809", /NBDHUB_NBD_SOURCE_HOSTS.*\[::1\]:10809/],
    ["NBDHUB_NBD_SOURCE_HOSTS", "a b", /NBDHUB_NBD_SOURCE_HOSTS/],
    ["NBDHUB_NBD_SOURCE_SOCKET_DIRS", "run/sockets", /NBDHUB_NBD_SOURCE_SOCKET_DIRS.*absolute folder paths/],
  ])("rejects %s=%s with a message naming it", (name, value, message) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it("allows no NBD socket by default, and reads host:port entries and socket folders", () => {
    expect(parseConfig({}).nbdSourceSocketDirs).toEqual([]);
    const config = parseConfig({
      NBDHUB_NBD_SOURCE_HOSTS: "Backup-1.example:10809, [::1]:10810,::1,10.0.0.5",
      NBDHUB_NBD_SOURCE_SOCKET_DIRS: "/run/nbd/, /srv/sockets",
    });
    expect(config.nbdSourceHosts).toEqual(["backup-1.example:10809", "[::1]:10810", "::1", "10.0.0.5"]);
    expect(config.nbdSourceSocketDirs).toEqual(["/run/nbd", "/srv/sockets"]);
  });

  it("reads the repository reserve in bytes or with a unit, and refuses anything else naming the variable", () => {
    expect(parseConfig({}).repositoryReserveBytes).toBe(1024 ** 3);
    expect(parseConfig({ NBDHUB_REPOSITORY_RESERVE: "512M" }).repositoryReserveBytes).toBe(512 * 1024 ** 2);
    expect(parseConfig({ NBDHUB_REPOSITORY_RESERVE: "2GiB" }).repositoryReserveBytes).toBe(2 * 1024 ** 3);
    expect(parseConfig({ NBDHUB_REPOSITORY_RESERVE: "0" }).repositoryReserveBytes).toBe(0);
    expect(parseConfig({ NBDHUB_REPOSITORY_RESERVE: "1048576" }).repositoryReserveBytes).toBe(1024 ** 2);
    expect(problemsOf({ NBDHUB_REPOSITORY_RESERVE: "lots" })[0]).toMatch(
      /^NBDHUB_REPOSITORY_RESERVE="lots" is not valid: expected a size/,
    );
    const { publicUrl } = parseConfig({ NBDHUB_PUBLIC_URL: "https://backup.example.com/" });
    expect(publicUrl).toBe("https://backup.example.com");
  });

  it("reports every bad variable at once", () => {
    expect(
      problemsOf({ PORT: "x", NBDHUB_NBD_BIND: "everywhere" })
        .map((p) => p.split("=")[0])
        .sort(),
    ).toEqual(["NBDHUB_NBD_BIND", "PORT"]);
  });

  it("never prints a secret", () => {
    const secret = "s3cr3t";
    const problems = problemsOf({ NBDHUB_BOOTSTRAP_TOKEN: secret, DATABASE_URL: `mysql://u:${secret}@h` });
    expect(problems.join("\n")).not.toContain(secret);
  });
});

describe("access settings (issue 11)", () => {
  it("serves loopback names and the listening address by default, trusts no proxy", () => {
    const config = parseConfig({});
    expect(config.allowedHosts.sort()).toEqual(["127.0.0.1", "::1", "localhost"]);
    expect(config.trustedProxies).toEqual([]);
    expect(parseConfig({ HOST: "192.0.2.5" }).allowedHosts).toContain("192.0.2.5");
    // A wildcard bind address is no name a browser sends.
    expect(parseConfig({ HOST: "0.0.0.0" }).allowedHosts).not.toContain("0.0.0.0");
  });

  it("adds NBDHUB_ALLOWED_HOSTS to the loopback names, and reads NBDHUB_TRUSTED_PROXIES", () => {
    const config = parseConfig({
      NBDHUB_ALLOWED_HOSTS: " Hub.Example. , [2001:db8::5]",
      NBDHUB_TRUSTED_PROXIES: "10.0.0.5, 192.168.0.0/24, fd00::/8",
    });
    expect(config.allowedHosts).toEqual(expect.arrayContaining(["localhost", "hub.example", "2001:db8::5"]));
    expect(config.trustedProxies).toEqual(["10.0.0.5", "192.168.0.0/24", "fd00::/8"]);
  });

  it("caps password hashing by default at the cores (at most 4), with a bounded queue", () => {
    const config = parseConfig({});
    expect(config.passwordHashConcurrency).toBeGreaterThanOrEqual(1);
    expect(config.passwordHashConcurrency).toBeLessThanOrEqual(4);
    expect(config.passwordHashQueue).toBe(32);
  });

  it.each([
    ["NBDHUB_ALLOWED_HOSTS", "hub.example:3000", /NBDHUB_ALLOWED_HOSTS.*without ports/],
    ["NBDHUB_ALLOWED_HOSTS", "https://hub.example", /NBDHUB_ALLOWED_HOSTS.*host names/],
    ["NBDHUB_TRUSTED_PROXIES", "proxy.example", /NBDHUB_TRUSTED_PROXIES.*IP addresses or CIDR ranges/],
    ["NBDHUB_TRUSTED_PROXIES", "10.0.0.0/33", /NBDHUB_TRUSTED_PROXIES.*CIDR/],
    ["NBDHUB_PASSWORD_HASH_CONCURRENCY", "0", /NBDHUB_PASSWORD_HASH_CONCURRENCY.*from 1 to 64/],
    ["NBDHUB_PASSWORD_HASH_QUEUE", "-1", /NBDHUB_PASSWORD_HASH_QUEUE.*from 0 to 10000/],
  ])("rejects %s=%s with a message naming it", (name, value, message) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });
});
