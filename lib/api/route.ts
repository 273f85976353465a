// The one route wrapper: parses params, query and body with zod (typed, never `any`),
// resolves the caller and checks the route's role, awaits the runtime (503 while it starts),
// and maps every error to the envelope of API.md. A 500 carries no internals.
import "server-only";
import { NextResponse, type NextRequest } from "next/server";
import { z } from "zod";
import { runtimeHolder } from "@/lib/runtime/global";
import type { Runtime } from "@/lib/runtime/runtime";
import { ApiError, notReady, type ErrorEnvelope } from "./errors";
import { authorize, type Actor, type Access } from "./access";

export const MAX_BODY_BYTES = 64 * 1024;

type Schema = z.ZodType;
type Infer<S> = S extends z.ZodType ? z.infer<S> : undefined;

export type RouteContext<P, Q, B> = {
  req: NextRequest;
  params: P;
  query: Q;
  body: B;
  runtime: Runtime;
  actor: Actor;
  clientIp: string | undefined;
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
  return NextResponse.json(body, { status: error.status, headers: { "cache-control": "no-store" } });
}

export function json<T>(data: T, status = 200): NextResponse<T> {
  return NextResponse.json(data, { status, headers: { "cache-control": "no-store" } });
}

/** Turn zod issues into `{ "field.path": "what is expected" }`. */
export function issuesToDetails(error: z.ZodError, prefix?: string): Record<string, string> {
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
    const fields = Object.keys(details).join(", ");
    throw new ApiError("validation_failed", 422, `invalid ${where}: ${fields}`, details);
  }
  return parsed.data;
}

async function readJsonBody(req: NextRequest): Promise<unknown> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw new ApiError("body_too_large", 413, `the body is over ${MAX_BODY_BYTES / 1024} KiB`);
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

export function clientIpOf(req: NextRequest): string | undefined {
  // Route handlers do not see the socket; Next's own server fills x-forwarded-for from it.
  // Recorded in the audit trail for people to read, never used to grant anything.
  const forwarded = req.headers.get("x-real-ip") ?? req.headers.get("x-forwarded-for")?.split(",")[0]?.trim();
  return forwarded || undefined;
}

export function currentRuntime(): Runtime | undefined {
  return runtimeHolder().runtime;
}

export function route<
  P extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
  B extends Schema | undefined = undefined,
>(spec: RouteSpec<P, Q, B>, handler: (ctx: RouteContext<Infer<P>, Infer<Q>, Infer<B>>) => Promise<Response>) {
  return async (req: NextRequest, context: NextRouteContext): Promise<Response> => {
    try {
      const runtime = runtimeHolder().runtime;
      if (!runtime && !spec.optionalRuntime) throw notReady();
      const clientIp = clientIpOf(req);
      const actor = await authorize(req, runtime, spec.access);
      const rawParams = context?.params ? await context.params : {};
      const params = (spec.params ? parseWith(spec.params, rawParams, "params") : undefined) as Infer<P>;
      const query = (spec.query ? parseWith(spec.query, Object.fromEntries(req.nextUrl.searchParams), "query") : undefined) as Infer<Q>;
      const body = (spec.body ? parseWith(spec.body, await readJsonBody(req), "body") : undefined) as Infer<B>;
      return await handler({ req, params, query, body, runtime: runtime as Runtime, actor, clientIp });
    } catch (error) {
      if (error instanceof ApiError) return errorResponse(error);
      const log = runtimeHolder().runtime?.log;
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      if (log) log.error(`unhandled error in ${req.method} ${req.nextUrl.pathname}`, { error: message });
      else console.error(`unhandled error in ${req.method} ${req.nextUrl.pathname}: ${message}`);
      return errorResponse(new ApiError("internal_error", 500, "something went wrong on the server; the error was logged"));
    }
  };
}
