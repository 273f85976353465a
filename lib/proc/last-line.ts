/** The last non-empty line of a child's output: where qemu tools and nbdcopy put the reason they failed. */
export function lastLine(text: unknown): string {
  return (
    String(text ?? "")
      .trim()
      .split("\n")
      .filter(Boolean)
      .slice(-1)[0] ?? ""
  );
}
