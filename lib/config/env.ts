// Configuration, read from the environment and validated once. A bad value stops the start
// with a message naming the variable and what it accepts (t3 env.js style, with zod).
import { isIP } from "node:net";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { NODE_NAME_HINT, NODE_NAME_PATTERN } from "@/lib/names";
import { parseHostRule } from "./host-rules";

const portNumber = z.coerce
  .number({ error: "a whole number" })
  .int("a whole number")
  .min(1, "a port between 1 and 65535")
  .max(65535, "a port between 1 and 65535");

const portRange = z
  .string()
  .regex(/^\s*\d+\s*-\s*\d+\s*$/, "a range of ports like 10100-10199")
  .transform((value) => {
    const [min, max] = value.split("-").map((part) => Number(part.trim()));
    return { min, max };
  })
  .refine(({ min, max }) => min >= 1024 && max <= 65535, "ports between 1024 and 65535")
  .refine(({ min, max }) => min <= max, "the first port must not be above the last");

const boundedInt = (min: number, max: number) =>
  z.coerce
    .number({ error: `a whole number from ${min} to ${max}` })
    .int(`a whole number from ${min} to ${max}`)
    .min(min, `a whole number from ${min} to ${max}`)
    .max(max, `a whole number from ${min} to ${max}`);

/** Days to keep a kind of row; 0 keeps it for ever. */
const retentionDays = (days: number) => boundedInt(0, 36500).default(days);

const ipv4 = z
  .string()
  .regex(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/, "an IPv4 address such as 127.0.0.1 or 0.0.0.0")
  .refine((v) => v.split(".").every((p) => Number(p) <= 255), "an IPv4 address such as 127.0.0.1 or 0.0.0.0");

/** A comma-separated value as its non-empty entries, each trimmed and then `tidy`-ed. */
const commaList = (tidy: (entry: string) => string = (entry) => entry) =>
  z.string().transform((v) =>
    v
      .split(",")
      .map((entry) => tidy(entry.trim()))
      .filter(Boolean),
  );
const lowerCase = (entry: string) => entry.toLowerCase();

const hostList = commaList(lowerCase).refine(
  (hosts) => hosts.every((h) => parseHostRule(h) !== null),
  "a comma-separated list of hosts, each a name or address, optionally with :port (IPv6 as [::1]:10809)",
);

const absoluteDirList = commaList().refine(
  (dirs) => dirs.every((d) => path.isAbsolute(d)),
  "a comma-separated list of absolute folder paths",
);

const HOST_LIST_EXPECTED = "a comma-separated list of host names or addresses, without ports";
/** Host names the console answers to (the Host header); brackets around IPv6 are dropped. */
const allowedHostList = commaList((h) =>
  h
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, ""),
)
  .refine((hosts) => hosts.length > 0, HOST_LIST_EXPECTED)
  .refine((hosts) => hosts.every((h) => /^[a-z0-9.-]+$/.test(h) || isIP(h) === 6), HOST_LIST_EXPECTED);

/** "a.b.c.d", "a.b.c.d/n", "v6", "v6/n": the proxies whose X-Forwarded-For is believed. */
function isAddressOrRange(entry: string): boolean {
  const [address, prefix, extra] = entry.split("/");
  const family = isIP(address);
  if (!family || extra !== undefined) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

const proxyList = commaList(lowerCase).refine(
  (entries) => entries.every(isAddressOrRange),
  "a comma-separated list of IP addresses or CIDR ranges such as 10.0.0.5,192.168.0.0/24",
);

const SIZE_UNITS: Record<string, number> = { "": 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Bytes, as a whole number or with a unit: 512M, 1G, 1.5T (powers of 1024; "GiB" and "GB" alike). */
const byteSize = z
  .string()
  .regex(/^\s*\d+(\.\d+)?\s*([KMGT]i?B?|B)?\s*$/i, "a size in bytes, or with a unit such as 512M, 1G or 2T")
  .transform((v) => {
    const [, number, unit = ""] = /^\s*(\d+(?:\.\d+)?)\s*([KMGTB]?)/i.exec(v) ?? [];
    return Math.round(Number(number) * SIZE_UNITS[unit.toUpperCase()]);
  });

const publicUrl = z
  .string()
  .refine((v) => /^https?:\/\/[^/\s]+/.test(v), "an http:// or https:// address such as https://backup.example.com")
  .transform((v) => v.replace(/\/+$/, ""));

const nodeName = z.string().regex(NODE_NAME_PATTERN, NODE_NAME_HINT);

const databaseUrl = z.string().refine((v) => /^postgres(ql)?:\/\//.test(v), "a postgresql:// connection URL");

const rawSchema = z.object({
  NBDHUB_DATA_DIR: z.string().min(1, "a directory path").default("./data"),
  NBDHUB_REPOSITORY_DIR: z.string().min(1, "a directory path").optional(),
  NBDHUB_SOURCES_DIR: z.string().min(1, "a directory path").optional(),
  NBDHUB_PORT_RANGE: portRange.default({ min: 10100, max: 10199 }),
  NBDHUB_NBD_BIND: ipv4.default("127.0.0.1"),
  NBDHUB_NBD_TLS: z.enum(["required", "off"], { error: "required or off" }).optional(),
  NBDHUB_NBD_HOST: z
    .string()
    .regex(/^[A-Za-z0-9.:-]+$/, "a host name or address")
    .optional(),
  NBDHUB_QEMU_NBD_SHARED: boundedInt(1, 64).default(10),
  NBDHUB_QEMU_NBD_CACHE: z
    .enum(["none", "writeback", "writethrough", "directsync", "unsafe"], {
      error: "one of none, writeback, writethrough, directsync, unsafe",
    })
    .default("writeback"),
  NBDHUB_MAX_PARALLEL_DISKS: boundedInt(1, 64).default(4),
  // Unset: external jobs fail after NBDHUB_STALL_FAIL_SECONDS of silence (both default to 300).
  NBDHUB_STALE_AFTER_SECONDS: boundedInt(5, 86400).optional(),
  NBDHUB_STALL_SECONDS: boundedInt(1, 86400).default(60),
  NBDHUB_STALL_FAIL_SECONDS: boundedInt(2, 86400).default(300),
  NBDHUB_VERIFY: z.enum(["changed", "full"], { error: "changed or full" }).default("changed"),
  NBDHUB_NBD_SOURCE_HOSTS: hostList.default(["localhost", "127.0.0.1", "::1"]),
  NBDHUB_NBD_SOURCE_SOCKET_DIRS: absoluteDirList.default([]),
  NBDHUB_DEMO_SOURCES: z.enum(["0", "1", "true", "false"], { error: "1 or 0" }).default("1"),
  NBDHUB_POOL_SAMPLE_SECONDS: boundedInt(1, 3600).default(10),
  NBDHUB_REPOSITORY_RESERVE: byteSize.default(1024 ** 3),
  NBDHUB_STALE_CHECK_SECONDS: boundedInt(1, 86400).default(300),
  NBDHUB_PUBLIC_URL: publicUrl.optional(),
  NBDHUB_MAX_EVENT_STREAMS_PER_CALLER: boundedInt(1, 1000).default(8),
  NBDHUB_RETENTION_AUDIT_DAYS: retentionDays(90),
  NBDHUB_RETENTION_SESSIONS_DAYS: retentionDays(30),
  NBDHUB_RETENTION_JOB_EVENTS_DAYS: retentionDays(90),
  NBDHUB_RETENTION_EXPORTS_DAYS: retentionDays(30),
  NBDHUB_RETENTION_POOL_SAMPLES_DAYS: retentionDays(30),
  NBDHUB_POSTGRES_LOG_MAX_MB: boundedInt(1, 1_000_000).default(64),
  NBDHUB_BOOTSTRAP_TOKEN: z.string().min(32, "a secret of at least 32 characters").optional(),
  NBDHUB_ADMIN_PASSWORD: z.string().min(8, "a password of at least 8 characters").optional(),
  DATABASE_URL: databaseUrl.optional(),
  NBDHUB_ALLOWED_HOSTS: allowedHostList.optional(),
  NBDHUB_TRUSTED_PROXIES: proxyList.default([]),
  NBDHUB_PASSWORD_HASH_CONCURRENCY: boundedInt(1, 64).optional(),
  NBDHUB_PASSWORD_HASH_QUEUE: boundedInt(0, 10000).default(32),
  NBDHUB_NODE_NAME: nodeName,
  NBDHUB_NODE_HEARTBEAT_SECONDS: boundedInt(1, 3600).default(5),
  NBDHUB_NODE_LEASE_SECONDS: boundedInt(2, 86400).default(30),
  PORT: portNumber.default(3000),
  HOST: z.string().min(1, "a host name or address").default("127.0.0.1"),
});

/** Loopback names are always allowed: the console must stay reachable from the machine itself. */
const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "::1"];

/** Loopback names, the address the console listens on (a wildcard is no name), and the configured ones. */
function allowedHosts(host: string, configured: string[]): string[] {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  const listened = name === "0.0.0.0" || name === "::" ? [] : [name];
  return [...new Set([...LOOPBACK_HOSTS, ...listened, ...configured])];
}

/** TLS is required by default whenever exports listen beyond loopback (127.0.0.0/8). */
export function defaultNbdTls(bind: string): "required" | "off" {
  return bind.startsWith("127.") ? "off" : "required";
}

export type Config = {
  /** This server's name among the nodes on the database (NBDHUB_NODE_NAME, default the host name). */
  nodeName: string;
  /** How often the node's heartbeat refreshes its row (NBDHUB_NODE_HEARTBEAT_SECONDS). */
  nodeHeartbeatSeconds: number;
  /** A node whose heartbeat is older than this is "lost" (NBDHUB_NODE_LEASE_SECONDS). */
  nodeLeaseSeconds: number;
  dataDir: string;
  repositoryDir: string;
  sourcesDir: string;
  runDir: string;
  portRange: { min: number; max: number };
  nbdBind: string;
  nbdHost: string;
  /**
   * `required`: every export the hub starts for clients needs TLS with a key made for it
   * (NBDHUB_NBD_TLS; default `required` when NBDHUB_NBD_BIND is not loopback, else `off`).
   */
  nbdTls: "required" | "off";
  qemuNbdShared: number;
  qemuNbdCache: "none" | "writeback" | "writethrough" | "directsync" | "unsafe";
  maxParallelDisks: number;
  /** An external job fails after this long without a report (NBDHUB_STALE_AFTER_SECONDS, else the stall fail time). */
  staleAfterSeconds: number;
  /** A copy whose progress has not moved for this long is shown stalled (NBDHUB_STALL_SECONDS). */
  stallSeconds: number;
  /** …and fails after this long (NBDHUB_STALL_FAIL_SECONDS). */
  stallFailSeconds: number;
  /**
   * How an incremental of a file source is verified: `changed` reads back what it wrote (the
   * rest is vouched for by the bitmap or the diff), `full` also compares the whole chain.
   */
  verify: "changed" | "full";
  /** Entries `host`, `host:port`, `[v6]:port`, lower-cased (lib/config/host-rules.ts hostRefusal matches them). */
  nbdSourceHosts: string[];
  /** Folders under which nbd+unix:// sockets may be named; empty: none may. */
  nbdSourceSocketDirs: string[];
  demoSources: boolean;
  poolSampleSeconds: number;
  /** Free space a backup must leave on the repository's file system (bytes). */
  repositoryReserveBytes: number;
  /** How often the "no good backup of VM X for N hours" notices are looked for. */
  staleCheckSeconds: number;
  /** The console's address as people reach it, for links in notifications. */
  publicUrl: string;
  /** Live event streams one user or token may hold at once. */
  maxEventStreamsPerCaller: number;
  /** What the daily purge keeps (days; 0 = for ever), and the embedded Postgres log's size before rotation. */
  retention: Retention;
  bootstrapToken?: string;
  adminPassword?: string;
  databaseUrl?: string;
  port: number;
  host: string;
  /** Host names (Host, X-Forwarded-Host, Origin) the console answers to. */
  allowedHosts: string[];
  /** Addresses or CIDR ranges of reverse proxies whose X-Forwarded-For is believed. */
  trustedProxies: string[];
  /** Password hashes (argon2) computed at once, and how many more may wait for a turn. */
  passwordHashConcurrency: number;
  passwordHashQueue: number;
};

export type Retention = {
  auditDays: number;
  sessionsDays: number;
  jobEventsDays: number;
  exportsDays: number;
  poolSamplesDays: number;
  postgresLogMaxBytes: number;
};

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`nbdhub cannot start: bad configuration\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parse a configuration from an environment-like object. Throws ConfigError naming each bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  // Empty strings count as unset, as a shell `FOO= npm start` means "no value".
  const cleaned = Object.fromEntries(
    Object.keys(rawSchema.shape).map((key) => [key, env[key] === "" ? undefined : env[key]]),
  );
  // The node's name defaults to the host name, which must then follow the same rule.
  cleaned.NBDHUB_NODE_NAME ??= os.hostname();
  const parsed = rawSchema.safeParse(cleaned);
  if (!parsed.success) {
    const seen = new Set<string>();
    // One line per variable: its first complaint says what it accepts.
    const issues = parsed.error.issues.filter((issue) => {
      const name = String(issue.path[0] ?? "configuration");
      if (seen.has(name)) return false;
      seen.add(name);
      return true;
    });
    const problems = issues.map((issue) => {
      const name = String(issue.path[0] ?? "configuration");
      const shown =
        name.includes("TOKEN") || name.includes("PASSWORD") || name === "DATABASE_URL"
          ? "(hidden)"
          : name === "NBDHUB_NODE_NAME" && !env[name]
            ? `unset, so the host name ${JSON.stringify(cleaned[name])},`
            : JSON.stringify(env[name]);
      return `${name}=${shown} is not valid: expected ${issue.message}`;
    });
    throw new ConfigError(problems);
  }
  const v = parsed.data;
  if (v.NBDHUB_NODE_LEASE_SECONDS <= v.NBDHUB_NODE_HEARTBEAT_SECONDS) {
    const shown = JSON.stringify(env.NBDHUB_NODE_LEASE_SECONDS ?? String(v.NBDHUB_NODE_LEASE_SECONDS));
    throw new ConfigError([
      `NBDHUB_NODE_LEASE_SECONDS=${shown} is not valid: expected more seconds than NBDHUB_NODE_HEARTBEAT_SECONDS (${v.NBDHUB_NODE_HEARTBEAT_SECONDS})`,
    ]);
  }
  if (v.NBDHUB_STALL_FAIL_SECONDS <= v.NBDHUB_STALL_SECONDS) {
    const shown = JSON.stringify(env.NBDHUB_STALL_FAIL_SECONDS ?? String(v.NBDHUB_STALL_FAIL_SECONDS));
    throw new ConfigError([
      `NBDHUB_STALL_FAIL_SECONDS=${shown} is not valid: expected more seconds than NBDHUB_STALL_SECONDS (${v.NBDHUB_STALL_SECONDS})`,
    ]);
  }
  const dataDir = path.resolve(/*turbopackIgnore: true*/ v.NBDHUB_DATA_DIR);
  const nbdHost = v.NBDHUB_NBD_HOST ?? (v.NBDHUB_NBD_BIND === "0.0.0.0" ? "127.0.0.1" : v.NBDHUB_NBD_BIND);
  return {
    nodeName: v.NBDHUB_NODE_NAME,
    nodeHeartbeatSeconds: v.NBDHUB_NODE_HEARTBEAT_SECONDS,
    nodeLeaseSeconds: v.NBDHUB_NODE_LEASE_SECONDS,
    dataDir,
    repositoryDir: path.resolve(/*turbopackIgnore: true*/ v.NBDHUB_REPOSITORY_DIR ?? path.join(dataDir, "repository")),
    sourcesDir: path.resolve(/*turbopackIgnore: true*/ v.NBDHUB_SOURCES_DIR ?? path.join(dataDir, "sources")),
    runDir: path.join(/*turbopackIgnore: true*/ dataDir, "run"),
    portRange: v.NBDHUB_PORT_RANGE,
    nbdBind: v.NBDHUB_NBD_BIND,
    nbdHost,
    nbdTls: v.NBDHUB_NBD_TLS ?? defaultNbdTls(v.NBDHUB_NBD_BIND),
    qemuNbdShared: v.NBDHUB_QEMU_NBD_SHARED,
    qemuNbdCache: v.NBDHUB_QEMU_NBD_CACHE,
    maxParallelDisks: v.NBDHUB_MAX_PARALLEL_DISKS,
    staleAfterSeconds: v.NBDHUB_STALE_AFTER_SECONDS ?? v.NBDHUB_STALL_FAIL_SECONDS,
    stallSeconds: v.NBDHUB_STALL_SECONDS,
    stallFailSeconds: v.NBDHUB_STALL_FAIL_SECONDS,
    verify: v.NBDHUB_VERIFY,
    nbdSourceHosts: v.NBDHUB_NBD_SOURCE_HOSTS,
    nbdSourceSocketDirs: v.NBDHUB_NBD_SOURCE_SOCKET_DIRS.map((d) => path.resolve(/*turbopackIgnore: true*/ d)),
    demoSources: v.NBDHUB_DEMO_SOURCES === "1" || v.NBDHUB_DEMO_SOURCES === "true",
    poolSampleSeconds: v.NBDHUB_POOL_SAMPLE_SECONDS,
    repositoryReserveBytes: v.NBDHUB_REPOSITORY_RESERVE,
    staleCheckSeconds: v.NBDHUB_STALE_CHECK_SECONDS,
    publicUrl: v.NBDHUB_PUBLIC_URL ?? `http://${v.HOST.includes(":") ? `[${v.HOST}]` : v.HOST}:${v.PORT}`,
    maxEventStreamsPerCaller: v.NBDHUB_MAX_EVENT_STREAMS_PER_CALLER,
    retention: {
      auditDays: v.NBDHUB_RETENTION_AUDIT_DAYS,
      sessionsDays: v.NBDHUB_RETENTION_SESSIONS_DAYS,
      jobEventsDays: v.NBDHUB_RETENTION_JOB_EVENTS_DAYS,
      exportsDays: v.NBDHUB_RETENTION_EXPORTS_DAYS,
      poolSamplesDays: v.NBDHUB_RETENTION_POOL_SAMPLES_DAYS,
      postgresLogMaxBytes: v.NBDHUB_POSTGRES_LOG_MAX_MB * 1024 * 1024,
    },
    bootstrapToken: v.NBDHUB_BOOTSTRAP_TOKEN,
    adminPassword: v.NBDHUB_ADMIN_PASSWORD,
    databaseUrl: v.DATABASE_URL,
    port: v.PORT,
    host: v.HOST,
    allowedHosts: allowedHosts(v.HOST, v.NBDHUB_ALLOWED_HOSTS ?? []),
    trustedProxies: v.NBDHUB_TRUSTED_PROXIES,
    passwordHashConcurrency: v.NBDHUB_PASSWORD_HASH_CONCURRENCY ?? Math.max(1, Math.min(4, os.availableParallelism())),
    passwordHashQueue: v.NBDHUB_PASSWORD_HASH_QUEUE,
  };
}
