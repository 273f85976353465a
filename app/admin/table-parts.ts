// Shared by the admin pages (users, tokens) and the audit page: table cell styles and an API
// error as one line a person can read.
import { ApiClientError } from "@/lib/queries/api-fetch";

export const th = "px-4 py-2 text-left text-xs font-medium uppercase tracking-wide text-slate-500 dark:text-slate-400";
export const td = "px-4 py-2.5 align-middle";

export function errorText(error: unknown): string {
  if (error instanceof ApiClientError) {
    const details = error.details ? Object.entries(error.details).map(([k, v]) => `${k}: ${v}`).join("; ") : "";
    return details || error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
