// Typed API errors and the one error envelope of docs/api.md:
// {"error": {"code": "snake_case_code", "message": "for a person", "details": ...}}
const BRAND = Symbol.for("nbdhub.ApiError");

/**
 * Next.js bundles instrumentation (where the runtime lives) and each route separately, so an
 * ApiError thrown by the runtime is an instance of another copy of this class: recognise it by
 * a global brand, never by `instanceof` (use isApiError).
 */
export function isApiError(error: unknown): error is ApiError {
  return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
}

export class ApiError extends Error {
  readonly [BRAND] = true;

  constructor(
    public readonly code: string,
    public readonly status: number,
    message: string,
    public readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export type ErrorEnvelope = { error: { code: string; message: string; details?: unknown } };

export const notFound = (what: string) => new ApiError("not_found", 404, `${what} was not found`);
export const notReady = () => new ApiError("not_ready", 503, "nbdhub is starting; try again in a moment");
export const databaseUnavailable = () =>
  new ApiError("database_unavailable", 503, "the database cannot be reached right now; try again in a moment", { retryAfterSeconds: 5 });

