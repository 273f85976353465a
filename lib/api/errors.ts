// Typed API errors and the one error envelope of docs/api.md:
// {"error": {"code": "snake_case_code", "message": "for a person", "details": ...}}
import { brandGuard, CodedError } from "@/lib/errors";

const BRAND = Symbol.for("nbdhub.ApiError");

/** Recognised by its brand, never by `instanceof` (see hasBrand). */
export const isApiError = brandGuard<ApiError>(BRAND);

export class ApiError extends CodedError {
  readonly [BRAND] = true;
  override readonly name = "ApiError";

  constructor(
    code: string,
    readonly status: number,
    message: string,
    details?: unknown,
  ) {
    super(code, message, details);
  }
}

export type ErrorEnvelope = { error: { code: string; message: string; details?: unknown } };

export const notFound = (what: string) => new ApiError("not_found", 404, `${what} was not found`);
export const notReady = () => new ApiError("not_ready", 503, "nbdhub is starting; try again in a moment");
export const databaseUnavailable = () =>
  new ApiError("database_unavailable", 503, "the database cannot be reached right now; try again in a moment", {
    retryAfterSeconds: 5,
  });
