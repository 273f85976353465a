// Helpers of the access-control tests (tests/integration/auth-*.test.ts): sign in for a cookie,
// call the API with it (as a browser would: with Origin), make users and tokens with the
// bootstrap admin token.
import type { TestServer } from "../helpers/server";

export type Reply<T = unknown> = { status: number; body: T; headers: Headers };

export async function call<T = unknown>(
  server: TestServer,
  method: string,
  pathname: string,
  { body, headers = {}, timeoutMs = 15_000 }: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
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
  const r = await call(server, "POST", "/auth/login", { body: { username, password }, headers: { origin: server.url, ...(ip ? { "x-forwarded-for": ip } : {}) } });
  if (r.status !== 200) throw new Error(`login of ${username} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return sessionCookieOf(r.headers);
}

export async function createUser(server: TestServer, username: string, role: string, password: string): Promise<{ id: string }> {
  const r = await server.api<{ id: string }>("POST", "/users", { username, role, password });
  if (r.status !== 201) throw new Error(`creating user ${username} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

export async function createToken(server: TestServer, name: string, role: string): Promise<{ id: string; token: string }> {
  const r = await server.api<{ id: string; token: string }>("POST", "/tokens", { name, role });
  if (r.status !== 201) throw new Error(`creating token ${name} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}
