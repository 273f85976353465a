// A labelled progress bar (role=progressbar, so screen readers and tests read the value).
export function ProgressBar({
  value,
  label,
  tone = "info",
  size = "md",
  testId,
}: {
  value: number;
  label: string;
  tone?: "info" | "success" | "danger" | "warning" | "neutral";
  size?: "sm" | "md" | "lg";
  testId?: string;
}) {
  const v = Math.max(0, Math.min(100, Number.isFinite(value) ? value : 0));
  const fill = {
    info: "bg-sky-500",
    success: "bg-emerald-500",
    danger: "bg-rose-500",
    warning: "bg-amber-500",
    neutral: "bg-slate-400",
  }[tone];
  const height = { sm: "h-1.5", md: "h-2.5", lg: "h-3.5" }[size];
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(v)}
      data-testid={testId}
      className={`w-full overflow-hidden rounded-full bg-slate-200/80 dark:bg-slate-800 ${height}`}
    >
      <div
        className={`${height} ${fill} rounded-full transition-[width] duration-300 ease-out`}
        style={{ width: `${v}%` }}
      />
    </div>
  );
}
