// /login – sign in. Goes to /setup while there are no users, and on to `next` when already signed in.
import { redirect } from "next/navigation";
import { safeNextPath } from "@/lib/auth/cookie";
import { currentUser, usersExist } from "@/lib/auth/page-guard";
import { AuthCard, StartingNotice } from "./auth-card";
import { LoginForm } from "./login-form";

export const dynamic = "force-dynamic";
export const metadata = { title: "Sign in · nbdhub" };

export default async function LoginPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const exists = await usersExist();
  if (exists === null) return <StartingNotice />;
  if (!exists) redirect("/setup");
  const raw = (await searchParams).next;
  const next = safeNextPath(typeof raw === "string" ? raw : null);
  if (await currentUser()) redirect(next);
  return (
    <AuthCard title="Sign in to nbdhub" description="Use your nbdhub account. Automation uses API tokens instead.">
      <LoginForm next={next} />
    </AuthCard>
  );
}
