// 503 busy answers carry Retry-After: a handler whose work can be turned away by a server-wide
// limit (source inspections) wraps it here. (errorResponse in route.ts sets Retry-After when the
// error's details name retryAfterSeconds; this one always does.)
import "server-only";
import { hasCode } from "@/lib/errors";
import { toApiError } from "./error-status";
import { errorResponse } from "./route";

export async function answeringBusy(work: () => Promise<Response>): Promise<Response> {
  try {
    return await work();
  } catch (error) {
    if (!hasCode(error, "busy")) throw error;
    const response = errorResponse(toApiError(error));
    const seconds = (error.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
    response.headers.set("retry-after", String(typeof seconds === "number" ? seconds : 2));
    return response;
  }
}
