// Helpers of the access-control tests (tests/integration/auth-*.test.ts): sign in for a cookie,
// call the API with it (as a browser would: with Origin), make users and tokens with the
// bootstrap admin token.
import http from "node:http";
import os from "node:os";
import type { TestServer } from "../helpers/server";

export type Reply<T = unknown> = { status: number; body: T; headers: Headers };

export async function call<T = unknown>(
  server: TestServer,
  method: string,
  pathname: string,
  {
    body,
    headers = {},
    timeoutMs = 15_000,
  }: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Reply<T>> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(`${server.url}/api/v1${pathname}`, {
      method,
      headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
      redirect: "manual",
    });
    // An event stream never ends: its status and headers are enough.
    if (response.headers.get("content-type")?.includes("text/event-stream")) {
      await response.body?.cancel();
      return { status: response.status, body: undefined as T, headers: response.headers };
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  } finally {
    clearTimeout(timer);
  }
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** What a browser page of the console sends along with its cookie. */
export const browser = (server: TestServer, cookie: string) => ({ cookie, origin: server.url });

/** The `name=value` of the session cookie from a Set-Cookie header. */
export function sessionCookieOf(headers: Headers): string {
  const set = headers.getSetCookie().find((c) => c.startsWith("nbdhub_session="));
  if (!set) throw new Error("no session cookie was set");
  return set.split(";")[0];
}

export async function login(server: TestServer, username: string, password: string, ip?: string): Promise<string> {
  const r = await call(server, "POST", "/auth/login", {
    body: { username, password },
    headers: { origin: server.url, ...(ip ? { "x-forwarded-for": ip } : {}) },
  });
  if (r.status !== 200) throw new Error(`login of ${username} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return sessionCookieOf(r.headers);
}

export async function createUser(
  server: TestServer,
  username: string,
  role: string,
  password: string,
): Promise<{ id: string }> {
  const r = await server.api<{ id: string }>("POST", "/users", { username, role, password });
  if (r.status !== 201) throw new Error(`creating user ${username} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

export async function createToken(
  server: TestServer,
  name: string,
  role: string,
): Promise<{ id: string; token: string }> {
  const r = await server.api<{ id: string; token: string }>("POST", "/tokens", { name, role });
  if (r.status !== 201) throw new Error(`creating token ${name} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

export type RawReply = {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
};

/**
 * One HTTP request with exactly the headers given, Host included (fetch does not let a
 * caller set Host): what a DNS-rebinding page, a proxy or a hand-written client would send.
 */
export function rawRequest(
  url: string,
  { method = "GET", headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<RawReply> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        headers: {
          ...(payload !== undefined
            ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)) }
            : {}),
          ...headers,
        },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer from ${method} ${url} within 30 s`)));
    req.on("error", reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** An address of this machine that is not loopback: calling it makes a test a remote client. */
export function nonLoopbackAddress(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  throw new Error(
    "this machine has no non-loopback IPv4 address; the remote-client tests need one " + "(any network interface)",
  );
}
