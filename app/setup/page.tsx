// /setup – first run: with no users yet, create the first admin account.
import { redirect } from "next/navigation";
import { AuthCard, StartingNotice } from "@/app/login/auth-card";
import { usersExist } from "@/lib/auth/page-guard";
import { SetupForm } from "./setup-form";

export const dynamic = "force-dynamic";
export const metadata = { title: "First run · nbdhub" };

export default async function SetupPage() {
  const exists = await usersExist();
  if (exists === null) return <StartingNotice />;
  if (exists) redirect("/login");
  return (
    <AuthCard
      title="Welcome to nbdhub"
      description="No one has an account yet. Create the first admin; they can add everyone else under Users."
    >
      <SetupForm />
    </AuthCard>
  );
}
