// One fact of a <dl> (a job's summary, the repository's figures, a port's or a disk's details,
// health): its label small and grey, its value under it in the look of the list it is in.
import type { ReactNode } from "react";

const labelClass = "text-xs text-slate-500 dark:text-slate-400";

type TermProps = {
  label: ReactNode;
  children: ReactNode;
  /** The value's look, the list's own. */
  valueClassName?: string;
  /** The pair's box (its width in a grid, a background). */
  className?: string;
  /** On the value. */
  testId?: string;
};

export function Term({ label, children, valueClassName, className, testId }: TermProps) {
  return (
    <div className={className}>
      <dt className={labelClass}>{label}</dt>
      <dd className={valueClassName} data-testid={testId}>
        {children}
      </dd>
    </div>
  );
}
