// Shown instead of an admin page to a signed-in user without the admin role.
import { Panel } from "@/app/components/panel";

export function Forbidden({ what }: { what: string }) {
  return (
    <Panel testId="forbidden">
      <h1 className="text-lg font-semibold">Admins only</h1>
      <p className="mt-1 text-sm text-slate-600 dark:text-slate-300">
        {what} is for admins. Ask an admin if you need access.
      </p>
    </Panel>
  );
}
