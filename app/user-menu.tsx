// The signed-in user, their role, the admin pages and sign-out, in the header. Rendered on
// the server for every page, it is also the pages' real sign-in check: a request whose
// session has ended (expired, revoked, user disabled) is sent to /login here, while proxy.ts
// only looked for the cookie.
import Link from "next/link";
import { guardPage } from "@/lib/auth/page-guard";
import { hasRole } from "@/lib/auth/roles";
import { SignOutButton } from "@/app/components/sign-out-button";

const adminLinks = [
  { href: "/admin/users", label: "Users" },
  { href: "/admin/tokens", label: "Tokens" },
  { href: "/admin/notifications", label: "Notifications" },
  { href: "/audit", label: "Audit" },
];

const roleStyle = {
  admin: "bg-sky-100 text-sky-800 dark:bg-sky-900/50 dark:text-sky-200",
  operator: "bg-emerald-100 text-emerald-800 dark:bg-emerald-900/50 dark:text-emerald-200",
  viewer: "bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300",
} as const;

export async function UserMenu() {
  const user = await guardPage();
  if (!user) return null;
  return (
    <div className="ml-auto flex items-center gap-3 text-sm" data-testid="user-menu">
      {hasRole(user.role, "admin") ? (
        <nav aria-label="Administration" className="hidden gap-1 md:flex">
          {adminLinks.map((l) => (
            <Link
              key={l.href}
              href={l.href}
              className="rounded-md px-2.5 py-1.5 font-medium text-slate-600 hover:bg-slate-50 hover:text-slate-900 focus-visible:outline-2 focus-visible:outline-sky-600 dark:text-slate-400 dark:hover:bg-slate-800/60 dark:hover:text-white"
            >
              {l.label}
            </Link>
          ))}
        </nav>
      ) : null}
      <span className="flex items-center gap-2">
        <span className="font-medium text-slate-800 dark:text-slate-100" data-testid="user-menu-name">
          {user.username}
        </span>
        <span
          className={`rounded-full px-2 py-0.5 text-xs font-medium ${roleStyle[user.role]}`}
          data-testid="user-menu-role"
        >
          {user.role}
        </span>
      </span>
      <SignOutButton />
    </div>
  );
}
