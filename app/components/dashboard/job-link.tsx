// A dashboard row that opens its job's page (running backups, last failures).
import Link from "next/link";
import type { ReactNode } from "react";
import { jobHref } from "../hrefs";

const jobLinkClass =
  "block px-4 py-3 hover:bg-slate-50 focus-visible:outline-2 focus-visible:-outline-offset-2 " +
  "focus-visible:outline-sky-600 dark:hover:bg-slate-800/50";

export function JobLink({ jobId, children }: { jobId: string; children: ReactNode }) {
  return (
    <Link href={jobHref(jobId)} className={jobLinkClass}>
      {children}
    </Link>
  );
}
