// A node's pure parts (issue 18): its name from NBDHUB_NODE_NAME (default the host name), the
// heartbeat and lease settings, the identity its heartbeat writes, and its status from its last
// heartbeat.
import os from "node:os";
import { describe, expect, it } from "vitest";
import { parseConfig } from "@/lib/config/env";
import { nodeIdentity } from "@/lib/node/identity";
import { nodeStatus } from "@/lib/node/status";

describe("node settings", () => {
  it("defaults to the host name, a 5 s heartbeat and a 30 s lease", () => {
    const config = parseConfig({});
    expect(config.nodeName).toBe(os.hostname());
    expect(config.nodeHeartbeatSeconds).toBe(5);
    expect(config.nodeLeaseSeconds).toBe(30);
    expect(parseConfig({ NBDHUB_NODE_NAME: "" }).nodeName).toBe(os.hostname());
  });

  it.each(["hub-1", "a", "HUB_2.example.org", "9", "x".repeat(63)])("accepts the name %j", (name) => {
    expect(parseConfig({ NBDHUB_NODE_NAME: name }).nodeName).toBe(name);
  });

  it.each(["-hub", ".hub", "hub 1", "hub/1", "hüb", "x".repeat(64), "a:b"])("refuses the name %j", (name) => {
    expect(() => parseConfig({ NBDHUB_NODE_NAME: name })).toThrow(
      new RegExp(
        `NBDHUB_NODE_NAME=${JSON.stringify(name).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is not valid: expected 1-63 characters`,
      ),
    );
  });

  it.each([
    ["NBDHUB_NODE_HEARTBEAT_SECONDS", "0", /NBDHUB_NODE_HEARTBEAT_SECONDS.*from 1 to 3600/],
    ["NBDHUB_NODE_HEARTBEAT_SECONDS", "often", /NBDHUB_NODE_HEARTBEAT_SECONDS.*whole number/],
    ["NBDHUB_NODE_LEASE_SECONDS", "1", /NBDHUB_NODE_LEASE_SECONDS.*from 2 to 86400/],
  ])("refuses %s=%j naming it", (name, value, message) => {
    expect(() => parseConfig({ [name]: value })).toThrow(message);
  });

  it("wants a lease longer than the heartbeat", () => {
    expect(() => parseConfig({ NBDHUB_NODE_HEARTBEAT_SECONDS: "10", NBDHUB_NODE_LEASE_SECONDS: "10" })).toThrow(
      /NBDHUB_NODE_LEASE_SECONDS="10" is not valid: expected more seconds than NBDHUB_NODE_HEARTBEAT_SECONDS \(10\)/,
    );
    expect(parseConfig({ NBDHUB_NODE_HEARTBEAT_SECONDS: "1", NBDHUB_NODE_LEASE_SECONDS: "3" }).nodeLeaseSeconds).toBe(
      3,
    );
  });
});

describe("node identity", () => {
  it("says where its API answers, its NBD host, port range and repository", () => {
    const config = parseConfig({
      NBDHUB_NODE_NAME: "hub-2",
      HOST: "10.0.0.2",
      PORT: "3100",
      NBDHUB_NBD_HOST: "nbd.example.org",
      NBDHUB_PORT_RANGE: "11000-11009",
      NBDHUB_DATA_DIR: "/srv/hub2",
    });
    expect(nodeIdentity(config)).toEqual({
      name: "hub-2",
      apiUrl: "http://10.0.0.2:3100/api/v1",
      nbdHost: "nbd.example.org",
      portRange: { min: 11000, max: 11009 },
      repository: "/srv/hub2/repository",
    });
    const behindProxy = parseConfig({ NBDHUB_PUBLIC_URL: "https://hub2.example.org/" });
    expect(nodeIdentity(behindProxy).apiUrl).toBe("https://hub2.example.org/api/v1");
  });
});

describe("node status", () => {
  const now = new Date("2026-12-06T10:00:30.000Z");
  it("is up while the last heartbeat is within the lease, lost after it", () => {
    expect(nodeStatus(new Date("2026-12-06T10:00:29.000Z"), now, 30)).toBe("up");
    expect(nodeStatus(new Date("2026-12-06T10:00:00.000Z"), now, 30)).toBe("up");
    expect(nodeStatus(new Date("2026-12-06T09:59:59.999Z"), now, 30)).toBe("lost");
    expect(nodeStatus(new Date("2026-12-06T10:00:26.000Z"), now, 3)).toBe("lost");
    // A heartbeat "after" now (the clock read first, then the row): up.
    expect(nodeStatus(new Date("2026-12-06T10:00:31.000Z"), now, 3)).toBe("up");
  });
});
