// /setup – first run: with no users yet, create the first admin account. From another machine
// the form also asks for the one-time setup code the server printed in its log.
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { AuthCard, StartingNotice } from "@/app/login/auth-card";
import { clientAddressOf } from "@/lib/auth/client-address";
import { usersExist } from "@/lib/auth/page-guard";
import { SetupForm } from "./setup-form";

export const dynamic = "force-dynamic";
export const metadata = { title: "First run · nbdhub" };

export default async function SetupPage() {
  const exists = await usersExist();
  if (exists === null) return <StartingNotice />;
  if (exists) redirect("/login");
  // The server decides again when the form is sent; this only chooses what the form shows.
  const { local } = clientAddressOf(await headers());
  return (
    <AuthCard
      title="Welcome to nbdhub"
      description="No one has an account yet. Create the first admin; they can add everyone else under Users."
    >
      <SetupForm needsCode={!local} />
    </AuthCard>
  );
}
