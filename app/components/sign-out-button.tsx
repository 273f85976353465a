"use client";
// Ends the session on the server, then reloads on /login so no page keeps cached data.
import { useState } from "react";
import { apiFetch, leaveFor, startSignOut } from "@/lib/queries/api-fetch";

export function SignOutButton() {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      data-testid="sign-out"
      disabled={busy}
      onClick={async () => {
        setBusy(true);
        startSignOut();
        try {
          await apiFetch("/auth/logout", { method: "POST" });
        } finally {
          leaveFor("/login");
        }
      }}
      className="rounded-md px-2.5 py-1.5 text-sm font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900 focus-visible:outline-2 focus-visible:outline-sky-600 disabled:opacity-60 dark:text-slate-300 dark:hover:bg-slate-800 dark:hover:text-white"
    >
      {busy ? "Signing out…" : "Sign out"}
    </button>
  );
}
