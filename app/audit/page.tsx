// /audit – who did what, when, from where: every state-changing request and every sign-in (admins)
import { Forbidden } from "@/app/admin/forbidden";
import { Page } from "@/app/components/page-header";
import { requireUser } from "@/lib/auth/page-guard";
import { hasRole } from "@/lib/auth/roles";
import { AuditView } from "./audit-view";

export const dynamic = "force-dynamic";
export const metadata = { title: "Audit · nbdhub" };

export default async function AuditPage() {
  const user = await requireUser();
  if (!hasRole(user.role, "admin")) return <Forbidden what="The audit trail" />;
  return (
    <Page
      title="Audit trail"
      description={
        "Every change made through the console or the API, and every sign-in, allowed or refused. Newest first."
      }
    >
      <AuditView />
    </Page>
  );
}
