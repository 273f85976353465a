// 503 busy answers carry Retry-After: a handler whose work can be turned away by a server-wide
// limit (source inspections) wraps it here. (errorResponse in route.ts sets Retry-After for
// 429 only.)
import "server-only";
import { isApiError } from "./errors";
import { errorResponse } from "./route";

export async function answeringBusy(work: () => Promise<Response>): Promise<Response> {
  try {
    return await work();
  } catch (error) {
    if (!isApiError(error) || error.code !== "busy") throw error;
    const response = errorResponse(error);
    const seconds = (error.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
    response.headers.set("retry-after", String(typeof seconds === "number" ? seconds : 2));
    return response;
  }
}
