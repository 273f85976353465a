// /api-docs – the HTTP API as the OpenAPI document describes it (the same document as
// GET /api/v1/openapi.json, built here on the server): routes by area, what each takes and answers.
import type { Metadata } from "next";
import { Page } from "@/app/components/page-header";
import { requireUser } from "@/lib/auth/page-guard";
import { openApiDocument } from "@/lib/api/openapi";
import { ApiReference } from "./api-reference";

export const dynamic = "force-dynamic";

export const metadata = {
  title: "API",
  description: "Every route of the HTTP API: what it takes, what it answers, and the role it needs.",
} satisfies Metadata;

export default async function ApiDocsPage() {
  await requireUser();
  return (
    <Page
      title="API"
      description={
        <>
          Every route under <code className="font-mono text-xs">/api/v1</code>, from the same schemas that check
          requests. Scripts send <code className="font-mono text-xs">Authorization: Bearer &lt;token&gt;</code> (make
          one under Tokens); errors are always{" "}
          <code className="font-mono text-xs">{'{"error": {"code", "message", "details"}}'}</code>.
        </>
      }
      actions={
        <a
          href="/api/v1/openapi.json"
          download="nbdhub-openapi.json"
          className="rounded-md bg-sky-600 px-3 py-1.5 text-sm font-medium text-white shadow-sm hover:bg-sky-700 focus-visible:outline-2 focus-visible:outline-sky-600"
        >
          Download openapi.json
        </a>
      }
    >
      <ApiReference document={openApiDocument()} />
    </Page>
  );
}
