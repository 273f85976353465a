// The one route wrapper: parses params, query and body with zod (typed, never `any`),
// resolves the caller and checks the route's role, awaits the runtime (503 while it starts),
// maps every error to the envelope of docs/api.md (the domain's errors through the one table of
// error-status.ts; a 500 carries no internals; an unreachable database is 503
// database_unavailable), and writes one audit row for every state-changing request, allowed or
// not (refusals of anonymous callers aggregated: lib/auth/audit-trail.ts).
import "server-only";
import { NextResponse, type NextRequest } from "next/server";
import { z } from "zod";
import { runtimeHolder } from "@/lib/runtime/global";
import type { Runtime } from "@/lib/runtime/runtime";
import { auditResultOf, type AuditEntry, type AuditNote } from "@/lib/auth/audit";
import { clientAddressOf } from "@/lib/auth/client-address";
import { isDatabaseUnavailable } from "@/lib/db/unavailable";
import { bearerOf } from "@/lib/auth/caller";
import { SESSION_COOKIE } from "@/lib/auth/cookie";
import { isSafeMethod } from "@/lib/auth/csrf";
import { isDomainError } from "@/lib/errors";
import { ApiError, databaseUnavailable, isApiError, notReady, type ErrorEnvelope } from "./errors";
import { toApiError } from "./error-status";
import { ANONYMOUS, authorize, isAccessDenied, type Actor, type Access } from "./access";

export type { AuditNote };

const MAX_BODY_BYTES = 64 * 1024;

type Schema = z.ZodType;
type Infer<S> = S extends z.ZodType ? z.infer<S> : undefined;

export type RouteContext<P, Q, B> = {
  req: NextRequest;
  params: P;
  query: Q;
  body: B;
  runtime: Runtime;
  /** The caller; `actor.name` is what job rows show (a user name, or `token:<name>`). */
  actor: Actor;
  clientIp: string | undefined;
  /** Refine this request's audit row: a precise `target` (e.g. "job:abc"), extra `details`. */
  audit: AuditNote;
};

export type RouteSpec<P extends Schema | undefined, Q extends Schema | undefined, B extends Schema | undefined> = {
  /** Who may call: "public" (no caller needed), or the lowest role that may. */
  access: Access;
  params?: P;
  query?: Q;
  body?: B;
  /**
   * For state-changing routes: the audit action recorded for every call, allowed or not
   * (e.g. "port.allocate", "backup.start"). Reads leave it out.
   */
  action?: string;
  /** The runtime may be absent (only health answers without it). */
  optionalRuntime?: boolean;
};

type NextRouteContext = { params: Promise<Record<string, string | string[]>> };

export function errorResponse(error: ApiError): NextResponse<ErrorEnvelope> {
  const body: ErrorEnvelope = { error: { code: error.code, message: error.message } };
  if (error.details !== undefined) body.error.details = error.details;
  const headers: Record<string, string> = { "cache-control": "no-store" };
  const retryAfter = (error.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  if ((error.status === 429 || error.status === 503) && typeof retryAfter === "number")
    headers["retry-after"] = String(retryAfter);
  return jsonAnswer(body, error.status, headers);
}

export function json<T>(data: T, status = 200): NextResponse<T> {
  return jsonAnswer(data, status, { "cache-control": "no-store" });
}

/** Next's compression threshold: answers below it are not worth a gzip stream. */
const COMPRESS_FROM_BYTES = 1024;

/**
 * A JSON answer. Next drops a route's Content-Length, so its compression cannot see that an
 * answer is small and starts a gzip stream for every one (a tenth of the server's CPU under the
 * allocation benchmark, for answers of a hundred bytes): small answers say `no-transform`,
 * which it honours. Larger ones (lists, the OpenAPI document) are still compressed.
 */
function jsonAnswer<T>(data: T, status: number, headers: Record<string, string>): NextResponse<T> {
  const text = JSON.stringify(data);
  const small = Buffer.byteLength(text) < COMPRESS_FROM_BYTES && headers["cache-control"] !== undefined;
  return new NextResponse(text, {
    status,
    headers: {
      ...headers,
      ...(small ? { "cache-control": `${headers["cache-control"]}, no-transform` } : {}),
      "content-type": "application/json",
    },
  }) as NextResponse<T>;
}

/** Turn zod issues into `{ "field.path": "what is expected" }`. */
function issuesToDetails(error: z.ZodError, prefix?: string): Record<string, string> {
  const details: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = [prefix, ...issue.path.map(String)].filter(Boolean).join(".") || prefix || "body";
    details[key] ??= issue.message;
  }
  return details;
}

function parseWith<S extends Schema>(schema: S, value: unknown, where: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const details = issuesToDetails(parsed.error, where === "body" ? undefined : where);
    // The message names each field and what it expects, for a person reading it anywhere.
    const fields = Object.entries(details)
      .map(([field, expected]) => `${field}: ${expected}`)
      .join("; ");
    throw new ApiError("validation_failed", 422, `invalid ${where}: ${fields}`, details);
  }
  return parsed.data;
}

async function readJsonBody(req: NextRequest): Promise<unknown> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES)
    throw new ApiError("body_too_large", 413, `the body is over ${MAX_BODY_BYTES / 1024} KiB`);
  const reader = req.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (reader) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_BODY_BYTES) {
        await reader.cancel().catch(() => undefined);
        throw new ApiError("body_too_large", 413, `the body is over ${MAX_BODY_BYTES / 1024} KiB`);
      }
      chunks.push(value);
    }
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") throw new ApiError("invalid_json", 400, "the body is empty; send a JSON object");
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError("invalid_json", 400, "the body is not valid JSON");
  }
}

function clientIpOf(req: NextRequest): string | undefined {
  // The socket's address, walked back through X-Forwarded-For only across the proxies in
  // NBDHUB_TRUSTED_PROXIES: a client cannot name its own address (decision 009).
  return clientAddressOf(req.headers).address;
}

export function currentRuntime(): Runtime | undefined {
  return runtimeHolder().runtime;
}

/** Body fields that name what a request acts on, for the audit target when a handler names none. */
const TARGET_FIELDS = ["jobId", "vmName", "port", "exportName", "diskId", "username", "name"] as const;

function defaultTarget(rawParams: Record<string, string | string[]>, body: unknown): string | undefined {
  const fromParams = Object.values(rawParams).map((v) => (Array.isArray(v) ? v.join("/") : v));
  if (fromParams.length) return fromParams.join("/");
  if (!body || typeof body !== "object" || Array.isArray(body)) return undefined;
  const record = body as Record<string, unknown>;
  const parts = TARGET_FIELDS.filter((k) => typeof record[k] === "string" || typeof record[k] === "number").map(
    (k) => `${k}=${String(record[k])}`,
  );
  return parts.length ? parts.join(" ") : undefined;
}

export function route<
  P extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
  B extends Schema | undefined = undefined,
>(spec: RouteSpec<P, Q, B>, handler: (ctx: RouteContext<Infer<P>, Infer<Q>, Infer<B>>) => Promise<Response>) {
  const handle = async (req: NextRequest, context: NextRouteContext): Promise<Response> => {
    const runtime = runtimeHolder().runtime;
    const clientIp = clientIpOf(req);
    const audit: AuditNote = {};
    let actor: Actor = ANONYMOUS;
    let rawParams: Record<string, string | string[]> = {};
    let body: Infer<B> | undefined;
    let response: Response;
    try {
      if (!runtime && !spec.optionalRuntime) throw notReady();
      rawParams = context?.params ? await context.params : {};
      actor = await authorize(req, runtime, spec.access);
      const params = (spec.params ? parseWith(spec.params, rawParams, "params") : undefined) as Infer<P>;
      const query = (
        spec.query ? parseWith(spec.query, Object.fromEntries(req.nextUrl.searchParams), "query") : undefined
      ) as Infer<Q>;
      body = (spec.body ? parseWith(spec.body, await readJsonBody(req), "body") : undefined) as Infer<B>;
      response = await handler({
        req,
        params,
        query,
        body: body as Infer<B>,
        runtime: runtime as Runtime,
        actor,
        clientIp,
        audit,
      });
    } catch (error) {
      if (isAccessDenied(error)) actor = error.actor;
      if (isApiError(error)) response = errorResponse(error);
      else if (isDomainError(error)) response = errorResponse(toApiError(error));
      else if (isDatabaseUnavailable(error)) {
        // Not the caller's fault and not a bug: say so, and that trying again later helps.
        runtime?.log.warn(`database unavailable in ${req.method} ${req.nextUrl.pathname}`);
        response = errorResponse(databaseUnavailable());
      } else {
        const log = runtime?.log;
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        if (log) log.error(`unhandled error in ${req.method} ${req.nextUrl.pathname}`, { error: message });
        else console.error(`unhandled error in ${req.method} ${req.nextUrl.pathname}: ${message}`);
        response = errorResponse(
          new ApiError("internal_error", 500, "something went wrong on the server; the error was logged"),
        );
      }
    }
    // Every state-changing request leaves a row, refused ones included: "who tried" matters
    // as much as "who did". Without a runtime there is no database to write to (503 only).
    if (runtime && !audit.recorded && (spec.action !== undefined || !isSafeMethod(req.method))) {
      const apiPath = req.nextUrl.pathname.replace(/^\/api\/v1/, "");
      const code = response.status >= 400 ? await errorCodeOf(response) : undefined;
      const entry: AuditEntry = {
        actor: audit.actor ?? actor.name,
        // A route that forgot `action` is still recorded, under its method and path.
        action: spec.action ?? `${req.method} ${apiPath}`,
        target: audit.target ?? defaultTarget(rawParams, body),
        result: auditResultOf(response.status),
        status: response.status,
        clientIp,
        details: {
          ...(audit.details ?? {}),
          ...(code ? { code } : {}),
          via: actor.kind,
          ...unverifiedCredential(req, code),
        },
      };
      // Anyone can send anonymous requests: their refusals are counted, not written one by one.
      const refusedAnonymous =
        actor.kind === "anonymous" && !audit.actor && response.status >= 400 && response.status < 500;
      await (refusedAnonymous ? runtime.audit.refusal(entry) : runtime.audit.record(entry));
    }
    return response;
  };
  // The spec stays readable on the handler: tests/unit/openapi.test.ts checks that the OpenAPI
  // document (lib/api/contract.ts) names the very schemas and role each route file uses.
  return Object.assign(handle, { spec: spec as RouteSpec<Schema | undefined, Schema | undefined, Schema | undefined> });
}

/**
 * Without the database a token or session cannot be checked, so the caller is recorded as
 * anonymous: say which credential came with the request, for whoever reads the row later.
 */
function unverifiedCredential(req: NextRequest, code: string | undefined): { unverifiedCredential?: string } {
  if (code !== "database_unavailable") return {};
  if (bearerOf(req) !== undefined) return { unverifiedCredential: "bearer token" };
  if (req.cookies.get(SESSION_COOKIE)?.value) return { unverifiedCredential: "session cookie" };
  return {};
}

/** The envelope's code of an error answer, read from a clone so the answer is untouched. */
async function errorCodeOf(response: Response): Promise<string | undefined> {
  if (!response.headers.get("content-type")?.includes("application/json")) return undefined;
  try {
    const data = (await response.clone().json()) as { error?: { code?: unknown } };
    return typeof data.error?.code === "string" ? data.error.code : undefined;
  } catch {
    return undefined;
  }
}
