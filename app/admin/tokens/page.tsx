// /admin/tokens – API tokens for automation and backup clients (admins; see ../layout.tsx)
import Link from "next/link";
import { headedPage } from "@/app/components/page-header";
import { CreateToken, TokenList } from "./tokens-admin";

export const metadata = { title: "API tokens · nbdhub" };

export default headedPage(
  {
    title: "API tokens",
    description: (
      <>
        For scripts and external backup clients: send{" "}
        <code className="font-mono text-xs">Authorization: Bearer &lt;token&gt;</code>. A token is shown once, when it
        is created; nbdhub keeps only a hash of it. Revoking stops it at once. A token works only while the user who
        made it does: it never does more than their current role, and stops when they are disabled or deleted. What each
        route takes and answers: the{" "}
        <Link href="/api-docs" className="font-medium text-sky-700 hover:underline dark:text-sky-400">
          API reference
        </Link>
        .
      </>
    ),
  },
  <>
    <CreateToken />
    <TokenList />
  </>,
);
