// The one table from domain errors to HTTP statuses (lib/api/error-status.ts): every kind, and
// errors the domain really throws, answer the status they answered when the domain threw
// ApiError itself (issue 12: codes, statuses and messages unchanged).
import { describe, expect, it } from "vitest";
import { statusOf, toApiError } from "@/lib/api/error-status";
import { endingConflict } from "@/lib/backup/claim";
import { incompleteTransfer } from "@/lib/backup/coverage";
import { busyError } from "@/lib/backup/inspections";
import {
  DomainError,
  invalidInput,
  isDomainError,
  notFound,
  otherNode,
  poolExhausted,
  type DomainErrorKind,
} from "@/lib/errors";
import { isApiError } from "@/lib/api/errors";
import { startFailure } from "@/lib/nbd/start-errors";

describe("domain errors as HTTP answers", () => {
  it("maps each kind to its status", () => {
    const expected: Record<DomainErrorKind, number> = {
      invalid: 422,
      not_found: 404,
      conflict: 409,
      unauthenticated: 401,
      forbidden: 403,
      too_many: 429,
      unavailable: 503,
      timeout: 504,
    };
    for (const [kind, status] of Object.entries(expected)) {
      expect(statusOf({ kind: kind as DomainErrorKind, code: "any" }), kind).toBe(status);
    }
  });

  it("answers the errors the domain throws with the statuses they always had", () => {
    const cases: [DomainError, string, number][] = [
      [notFound("backup job x"), "not_found", 404],
      [poolExhausted("no free port", { needed: 2 }), "port_pool_exhausted", 409],
      [endingConflict("j", { status: "completed", ending: null }), "job_finished", 409],
      [endingConflict("j", { status: "running", ending: "cancelling" }), "job_ending", 409],
      [incompleteTransfer("j", [{ diskId: "d", reported: 1, size: 2 }]), "incomplete_transfer", 409],
      [startFailure(1, "Address already in use", { exitCode: 1 }), "port_in_use", 409],
      [startFailure(1, "Image is not in qcow2 format", { exitCode: 1 }), "qemu_nbd_refused", 422],
      [startFailure(1, "", { timedOutMs: 10_000 }), "export_start_timeout", 504],
      [invalidInput({ cursor: "a cursor" }, "invalid query: cursor"), "validation_failed", 422],
      [busyError(), "busy", 503],
      [otherNode("backup job j", "hub-a", "hub-b"), "other_node", 409],
      [
        new DomainError("conflict", "repository_full", "the repository is too full", { missingBytes: 1 }),
        "repository_full",
        507,
      ],
    ];
    for (const [error, code, status] of cases) {
      expect(isDomainError(error), code).toBe(true);
      const answer = toApiError(error);
      expect(isApiError(answer)).toBe(true);
      expect({ code: answer.code, status: answer.status }, code).toEqual({ code, status });
      // The message and the details pass as the domain wrote them.
      expect(answer.message).toBe(error.message);
      expect(answer.details).toEqual(error.details);
    }
  });
});
