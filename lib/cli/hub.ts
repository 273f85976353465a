// The hub's HTTP API as nbdhub-client calls it: JSON with a bearer token. A hub that cannot be
// reached, or that refuses the token, is a CliError with exit code 3; any other refusal is a
// HubError carrying the API's error code and message (docs/api.md "Conventions").
import { messageOf } from "@/lib/messages";
import { CliError, EXIT } from "./exit-codes";

export class HubError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
  ) {
    super(message);
    this.name = "HubError";
  }
}

type ErrorBody = { error?: { code?: string; message?: string; details?: unknown } };

const REQUEST_TIMEOUT_MS = 120_000;

export class Hub {
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  async call<T>(method: string, pathname: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    let response: Response;
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    try {
      response = await fetch(`${this.url}/api/v1${pathname}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const cause = error instanceof Error && error.cause ? messageOf(error.cause) : messageOf(error);
      throw new CliError(`cannot reach the hub at ${this.url}: ${cause}`, EXIT.unreachable);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (response.ok) return parsed as T;
    const error = (parsed as ErrorBody | undefined)?.error;
    const message = error?.message ?? `${response.status} ${response.statusText}`;
    if (response.status === 401) {
      throw new CliError(
        `the hub refused the token (401 ${error?.code ?? "unauthenticated"}): ${message}`,
        EXIT.unreachable,
      );
    }
    if (response.status === 403 && error?.code === "forbidden") {
      throw new CliError(`the token may not do this (403 forbidden): ${message}`, EXIT.unreachable);
    }
    throw new HubError(response.status, error?.code ?? "http_error", message, error?.details);
  }
}

/** A HubError as one line: "422 source_not_allowed: … (disks.0: …)". */
export function describeHubError(error: HubError): string {
  const details =
    error.details && typeof error.details === "object" && !Array.isArray(error.details)
      ? Object.entries(error.details as Record<string, unknown>)
          .filter(([, v]) => typeof v === "string" || typeof v === "number")
          .map(([k, v]) => `${k}: ${String(v)}`)
      : [];
  const more = details.length ? ` (${details.join("; ")})` : "";
  return `the hub answered ${error.status} ${error.code}: ${error.message}${more}`;
}
