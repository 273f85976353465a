// The one fetch of the console: JSON in, JSON out, the API's error envelope turned into a
// typed ApiClientError (code, message, field details) that pages can show beside a field.
let leaving = false;
let signingOut = false;

/** Leave the page for `url`, once: the first navigation wins, a later one is dropped. */
export function leaveFor(url: string): void {
  if (leaving) return;
  leaving = true;
  window.location.assign(url);
}

/**
 * Sign-out is under way: a 401 from now on is its own doing, not a session that ended elsewhere,
 * so a poll answered 401 must not send the page to /login?next=… instead of /login.
 */
export function startSignOut(): void {
  signingOut = true;
}

export class ApiClientError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly details?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiClientError";
  }
}

export async function apiFetch<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const { json, headers, ...rest } = init;
  const response = await fetch(`/api/v1${path}`, {
    ...rest,
    headers: {
      accept: "application/json",
      ...(json !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    body: json !== undefined ? JSON.stringify(json) : rest.body,
    credentials: "same-origin",
  });
  const text = await response.text();
  let data: unknown = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  const onSignIn = typeof window === "undefined" || window.location.pathname.startsWith("/login");
  if (response.status === 401 && !signingOut && !onSignIn) {
    // The session ended (expired, revoked, signed out elsewhere): back to sign-in, then here.
    const here = window.location.pathname + window.location.search;
    leaveFor(`/login?next=${encodeURIComponent(here)}`);
  }
  if (!response.ok) {
    const envelope = (
      data as { error?: { code?: string; message?: string; details?: Record<string, string> } } | undefined
    )?.error;
    throw new ApiClientError(
      response.status,
      envelope?.code ?? "http_error",
      envelope?.message ?? `the server answered ${response.status} ${response.statusText}`,
      envelope?.details,
    );
  }
  return data as T;
}
