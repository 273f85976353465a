// The frame of the sign-in and first-run pages: a narrow card in the middle of the page.
import type { ReactNode } from "react";

export function AuthCard({
  title,
  description,
  children,
}: {
  title: string;
  description?: ReactNode;
  children: ReactNode;
}) {
  return (
    <div className="mx-auto mt-10 w-full max-w-sm">
      <div className="rounded-xl border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900">
        <h1 className="text-xl font-semibold tracking-tight text-slate-900 dark:text-white">{title}</h1>
        {description ? <div className="mt-1.5 text-sm text-slate-600 dark:text-slate-300">{description}</div> : null}
        <div className="mt-5">{children}</div>
      </div>
    </div>
  );
}

export function StartingNotice() {
  return (
    <AuthCard
      title="nbdhub is starting"
      description="The server is still starting its database. This page is ready in a moment."
    >
      <a href="" className="text-sm font-medium text-sky-600 hover:underline dark:text-sky-400">
        Reload
      </a>
    </AuthCard>
  );
}
