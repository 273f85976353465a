"use client";
// Renders its children only for callers with at least `role` (e.g. Start and Cancel buttons
// for operators). Nothing is shown while the role is unknown, so a viewer never sees a flash.
import type { ReactNode } from "react";
import type { Role } from "@/lib/auth/roles";
import { useCan } from "@/lib/queries/use-me";

export function RoleGate({
  role,
  children,
  fallback = null,
}: {
  role: Role;
  children: ReactNode;
  fallback?: ReactNode;
}) {
  return <>{useCan(role) ? children : fallback}</>;
}
