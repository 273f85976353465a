// "See all →": a small link from a dashboard panel or card to the page that has the rest.
import Link from "next/link";
import type { ReactNode } from "react";

const moreLinkClass =
  "text-xs font-medium text-sky-700 hover:underline focus-visible:outline-2 focus-visible:outline-sky-600 " +
  "dark:text-sky-400";

export function MoreLink({ href, children }: { href: string; children: ReactNode }) {
  return (
    <Link href={href} className={moreLinkClass}>
      {children} →
    </Link>
  );
}
