// The console's small links that lead away with an arrow: "← Jobs" above a detail page (a job, a
// restore, a VM) back to its list, and "See all →" from a dashboard panel or card to the page
// that has the rest.
import Link from "next/link";
import type { ReactNode } from "react";
import { ArrowLeftIcon } from "./icons";

const focusRing = "focus-visible:outline-2 focus-visible:outline-sky-600";

const LOOKS = {
  back:
    `inline-flex items-center gap-1 rounded text-sm text-slate-500 hover:text-slate-900 ${focusRing} ` +
    "dark:text-slate-400 dark:hover:text-white",
  more: `text-xs font-medium text-sky-700 hover:underline ${focusRing} dark:text-sky-400`,
};

type ArrowLinkProps = { href: string; children: ReactNode };

function ArrowLink({ arrow, href, children }: ArrowLinkProps & { arrow: keyof typeof LOOKS }) {
  return (
    <Link href={href} className={LOOKS[arrow]}>
      {arrow === "back" ? (
        <>
          <ArrowLeftIcon className="h-3.5 w-3.5" /> {children}
        </>
      ) : (
        <>{children} →</>
      )}
    </Link>
  );
}

export const BackLink = (props: ArrowLinkProps) => <ArrowLink {...props} arrow="back" />;
export const MoreLink = (props: ArrowLinkProps) => <ArrowLink {...props} arrow="more" />;
