// /admin/users – add users, change roles, disable, reset passwords (admins; see ../layout.tsx)
import { PageHeader } from "@/app/components/page-header";
import { requireUser } from "@/lib/auth/page-guard";
import { UsersAdmin } from "./users-admin";

export const metadata = { title: "Users · nbdhub" };

export default async function UsersPage() {
  const me = await requireUser();
  return (
    <div className="space-y-6">
      <PageHeader title="Users" description="Who may sign in to the console, and what they may do: viewers read, operators also start and cancel, admins also manage users and tokens." />
      <UsersAdmin myId={me.id} />
    </div>
  );
}
