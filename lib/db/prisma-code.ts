// A Prisma error is recognised by its code (P2002 unique violation, P2025 row not found…),
// never by its message. Pure: used by the domain and the database layer alike.
export function prismaCode(error: unknown): string | undefined {
  if (typeof error === "object" && error && "code" in error && typeof (error as { code: unknown }).code === "string") {
    const code = (error as { code: string }).code;
    return /^P\d{4}$/.test(code) ? code : undefined;
  }
  return undefined;
}
