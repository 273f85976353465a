// What a page shows when there is nothing yet: what it will hold, and what to do next.
import type { ReactNode } from "react";
import { Icon, type IconName } from "./icons";

export type EmptyStateProps = {
  /** Drawn large in a grey circle above the title. */
  icon?: IconName;
  title: string;
  children?: ReactNode;
  action?: ReactNode;
  testId?: string;
};

export function EmptyState({ icon, title, children, action, testId = "empty-state" }: EmptyStateProps) {
  return (
    <div data-testid={testId} className="flex flex-col items-center justify-center px-6 py-12 text-center">
      {icon ? (
        <div className="mb-3 flex h-11 w-11 items-center justify-center rounded-full bg-slate-100 text-slate-500 dark:bg-slate-800 dark:text-slate-400">
          <Icon name={icon} className="h-5 w-5" />
        </div>
      ) : null}
      <h3 className="text-sm font-semibold text-slate-900 dark:text-slate-100">{title}</h3>
      {children ? <div className="mt-1 max-w-md text-sm text-slate-500 dark:text-slate-400">{children}</div> : null}
      {action ? <div className="mt-4">{action}</div> : null}
    </div>
  );
}
