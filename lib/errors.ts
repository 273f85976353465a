// The domain's errors (pool, exports, backups, users, sources): a code for programs, a message
// for a person, optional details, and a kind that says what went wrong in the domain's words.
// The domain knows nothing of HTTP: lib/api/error-status.ts maps kinds (and a few codes) to
// status codes in one table (docs/decisions/013-layering.md).
const BRAND = Symbol.for("nbdhub.DomainError");

export type DomainErrorKind =
  /** The input cannot be used as given (a bad field, a path outside its root, a source refused). */
  | "invalid"
  | "not_found"
  /** The input is fine but the state forbids it now (a port taken, a job already ending). */
  | "conflict"
  /** The caller could not be identified (wrong credentials, no user behind the request). */
  | "unauthenticated"
  /** The caller is known but may not do this. */
  | "forbidden"
  /** A limit of attempts or of things held at once was reached: try again later. */
  | "too_many"
  /** The server cannot do it now (busy, shutting down, a tool missing): try again later. */
  | "unavailable"
  /** Something the server waited for did not happen in time. */
  | "timeout";

/**
 * Next.js bundles instrumentation (where the runtime lives) and each route separately, so an
 * error thrown by the runtime is an instance of another copy of its class: recognise errors by a
 * global brand (a `Symbol.for` key set to true), never by `instanceof`.
 */
export function hasBrand(error: unknown, brand: symbol): boolean {
  return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[brand] === true;
}

/** A type guard for one brand: `export const isXError = brandGuard<XError>(X_BRAND)`. */
export function brandGuard<T>(brand: symbol): (error: unknown) => error is T {
  return (error: unknown): error is T => hasBrand(error, brand);
}

export const isDomainError = brandGuard<DomainError>(BRAND);

/** An error a person reads (`message`) with a code a program reads, and optional details. */
export abstract class CodedError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export class DomainError extends CodedError {
  readonly [BRAND] = true;
  override readonly name = "DomainError";

  constructor(
    readonly kind: DomainErrorKind,
    code: string,
    message: string,
    details?: unknown,
  ) {
    super(code, message, details);
  }
}

/** True when `error` is a domain error with this code. */
export function hasCode(error: unknown, code: string): error is DomainError {
  return isDomainError(error) && error.code === code;
}

export const notFound = (what: string) => new DomainError("not_found", "not_found", `${what} was not found`);

export const conflict = (code: string, message: string, details?: unknown) =>
  new DomainError("conflict", code, message, details);

/** Input that cannot be used; `details` names each field and what it expects. */
export const invalidInput = (details: Record<string, string>, message: string, code = "validation_failed") =>
  new DomainError("invalid", code, message, details);

export const invalid = (code: string, message: string, details?: unknown) =>
  new DomainError("invalid", code, message, details);

/**
 * A request to act on something another node owns (its export, port, job or restore): refused,
 * nothing changed. lib/runtime/owner-control.ts then asks the owning node (decision 030).
 */
export const otherNode = (what: string, owner: string, self: string) =>
  new DomainError(
    "conflict",
    "other_node",
    `${what} belongs to node "${owner}", not to this node ("${self}"); send the request to node "${owner}"`,
    { node: owner },
  );

export const poolExhausted = (message: string, details: Record<string, unknown>) =>
  new DomainError("conflict", "port_pool_exhausted", message, details);

export const unavailable = (code: string, message: string, details?: unknown) =>
  new DomainError("unavailable", code, message, details);

export const tooMany = (code: string, message: string, details?: unknown) =>
  new DomainError("too_many", code, message, details);
