// The top of every page: a title, one line on what the page is for, and the page's main actions;
// `Page` puts it above the page's sections, and `headedPage` makes a page.tsx of the two.
import type { ReactNode } from "react";

type HeaderProps = { title: ReactNode; description?: ReactNode; actions?: ReactNode; eyebrow?: ReactNode };

export function Page({ children, ...header }: HeaderProps & { children: ReactNode }) {
  return (
    <div className="space-y-6">
      <PageHeader {...header} />
      {children}
    </div>
  );
}

/** The default export of a page that is its header over its content (a view, or a few panels). */
export function headedPage(header: HeaderProps, content: ReactNode) {
  return function HeadedPage() {
    return <Page {...header}>{content}</Page>;
  };
}

function PageHeader({ title, description, actions, eyebrow }: HeaderProps) {
  return (
    <div className="flex flex-wrap items-end justify-between gap-4">
      <div className="min-w-0">
        {eyebrow ? <div className="mb-1 text-sm text-slate-500 dark:text-slate-400">{eyebrow}</div> : null}
        <h1 className="text-2xl font-semibold tracking-tight text-slate-900 dark:text-white">{title}</h1>
        {description ? (
          <div className="mt-1.5 max-w-3xl text-sm text-slate-600 dark:text-slate-300">{description}</div>
        ) : null}
      </div>
      {actions ? <div className="flex flex-wrap items-center gap-2">{actions}</div> : null}
    </div>
  );
}
