// "← Jobs": the link above a detail page (a job, a restore, a VM) back to its list.
import Link from "next/link";
import type { ReactNode } from "react";
import { ArrowLeftIcon } from "./icons";

const backLinkClass =
  "inline-flex items-center gap-1 rounded text-sm text-slate-500 hover:text-slate-900 focus-visible:outline-2 " +
  "focus-visible:outline-sky-600 dark:text-slate-400 dark:hover:text-white";

export function BackLink({ href, children }: { href: string; children: ReactNode }) {
  return (
    <Link href={href} className={backLinkClass}>
      <ArrowLeftIcon className="h-3.5 w-3.5" /> {children}
    </Link>
  );
}
