// Every /admin page: signed in (else /login) and admin (else a notice). The API checks again.
import type { ReactNode } from "react";
import { requireUser } from "@/lib/auth/page-guard";
import { hasRole } from "@/lib/auth/roles";
import { Forbidden } from "./forbidden";

export const dynamic = "force-dynamic";

export default async function AdminLayout({ children }: { children: ReactNode }) {
  const user = await requireUser();
  if (!hasRole(user.role, "admin")) return <Forbidden what="Managing users, API tokens and notifications" />;
  return <>{children}</>;
}
