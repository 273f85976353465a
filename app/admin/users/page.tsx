// /admin/users – add users, change roles, disable, reset passwords (admins; see ../layout.tsx)
import { Page } from "@/app/components/page-header";
import { requireUser } from "@/lib/auth/page-guard";
import { CreateUser, UserList } from "./users-admin";

export const metadata = { title: "Users · nbdhub" };

export default async function UsersPage() {
  const me = await requireUser();
  return (
    <Page
      title="Users"
      description={
        "Who may sign in to the console, and what they may do: viewers read, operators also start and cancel, " +
        "admins also manage users and tokens."
      }
    >
      <CreateUser />
      <UserList myId={me.id} />
    </Page>
  );
}
