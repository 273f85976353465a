// The one table from the domain's errors (lib/errors.ts) to HTTP: a status per kind, and the
// few codes whose status differs from their kind's. The code, message and details pass as they
// are. Decision: docs/decisions/013-layering.md.
import type { DomainError, DomainErrorKind } from "@/lib/errors";
import { ApiError } from "./errors";

const KIND_STATUS: Record<DomainErrorKind, number> = {
  invalid: 422,
  not_found: 404,
  conflict: 409,
  unauthenticated: 401,
  forbidden: 403,
  too_many: 429,
  unavailable: 503,
  timeout: 504,
};

/** Codes answered with another status than their kind's. */
const CODE_STATUS: Readonly<Record<string, number>> = {
  /** The backup would not fit in the repository (issue 16): 507 Insufficient Storage. */
  repository_full: 507,
};

export function statusOf(error: Pick<DomainError, "kind" | "code">): number {
  return CODE_STATUS[error.code] ?? KIND_STATUS[error.kind];
}

export function toApiError(error: DomainError): ApiError {
  return new ApiError(error.code, statusOf(error), error.message, error.details);
}
