"use client";
// Sign-in form. On success the whole page reloads on `next`, so the header (rendered on the
// server) shows the user and nothing cached from before survives.
import { useState, type FormEvent } from "react";
import { Button } from "@/app/components/button";
import { apiFetch, ApiClientError } from "@/lib/queries/api-fetch";
import { inputClass, labelClass } from "./auth-card";

export function LoginForm({ next }: { next: string }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await apiFetch("/auth/login", { method: "POST", json: { username: String(form.get("username") ?? ""), password: String(form.get("password") ?? "") } });
      window.location.assign(next);
    } catch (err) {
      setBusy(false);
      setError(err instanceof ApiClientError ? err.message : "the server did not answer; try again");
    }
  }
  return (
    <form onSubmit={submit} className="space-y-4" data-testid="login-form">
      <div>
        <label htmlFor="username" className={labelClass}>
          User name
        </label>
        <input id="username" name="username" autoComplete="username" required autoFocus className={inputClass} />
      </div>
      <div>
        <label htmlFor="password" className={labelClass}>
          Password
        </label>
        <input id="password" name="password" type="password" autoComplete="current-password" required className={inputClass} />
      </div>
      {error ? (
        <p role="alert" data-testid="login-error" className="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-800 dark:bg-rose-950/40 dark:text-rose-200">
          {error}
        </p>
      ) : null}
      <Button type="submit" variant="primary" busy={busy} className="w-full" data-testid="login-submit">
        Sign in
      </Button>
    </form>
  );
}
