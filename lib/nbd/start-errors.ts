// What a failed qemu-nbd start means for the caller, decided from qemu-nbd's own stderr.
// Pure (unit-tested); the message always carries qemu-nbd's words.
import { conflict, DomainError, hasCode, invalid } from "@/lib/errors";

/** details.reason of the 409 that startOnFreePort answers by taking the next port. */
const ADDRESS_IN_USE = "address_in_use";

export function isAddressInUse(error: unknown): boolean {
  return hasCode(error, "port_in_use") && (error.details as { reason?: string } | undefined)?.reason === ADDRESS_IN_USE;
}

export function startFailure(
  port: number,
  stderr: string,
  how: { timedOutMs?: number; exitCode?: number | null; signal?: string | null },
): DomainError {
  const words = stderr.trim();
  if (how.timedOutMs !== undefined) {
    return new DomainError(
      "timeout",
      "export_start_timeout",
      `qemu-nbd on port ${port} was not ready within ${Math.round(how.timedOutMs / 1000)} s and was stopped${words ? `; it said: ${words}` : ""}`,
    );
  }
  if (/Address already in use/i.test(words)) {
    // Another program took the port between our probe and qemu-nbd's bind.
    return conflict("port_in_use", `port ${port} is in use by another program (${words})`, {
      port,
      reason: ADDRESS_IN_USE,
    });
  }
  if (/Failed to get "\w+" lock/i.test(words)) {
    return conflict("file_in_use", `the image is in use by another process (${words.replace(/\n/g, " ")})`);
  }
  const exit = how.signal ? `signal ${how.signal}` : `exit code ${how.exitCode ?? "unknown"}`;
  return invalid(
    "qemu_nbd_refused",
    words ? words.replace(/\n/g, " ") : `qemu-nbd exited (${exit}) before the export was ready, without saying why`,
  );
}
