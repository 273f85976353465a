// A Prisma error is recognised by its code (P2002 unique violation, P2025 row not found…),
// never by its message. Pure: used by the domain and the database layer alike.
export function prismaCode(error: unknown): string | undefined {
  if (typeof error === "object" && error && "code" in error && typeof (error as { code: unknown }).code === "string") {
    const code = (error as { code: string }).code;
    return /^P\d{4}$/.test(code) ? code : undefined;
  }
  return undefined;
}

/**
 * A unique violation, from a model query (P2002) or a raw one: `$queryRaw` reports P2010
 * ("raw query failed") and keeps the driver's error, whose kind or SQLSTATE (23505) says it.
 */
export function isUniqueViolation(error: unknown): boolean {
  const code = prismaCode(error);
  if (code === "P2002") return true;
  if (code !== "P2010") return false;
  const cause = (error as { meta?: { driverAdapterError?: { cause?: { kind?: unknown; originalCode?: unknown } } } })
    .meta?.driverAdapterError?.cause;
  return cause?.kind === "UniqueConstraintViolation" || cause?.originalCode === "23505";
}
