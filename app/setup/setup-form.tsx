"use client";
// The first admin account. The server accepts it only while there are no users at all, and
// from another machine only with the one-time setup code from the server's log.
import { useState, type FormEvent } from "react";
import { Button } from "@/app/components/button";
import { inputClass, labelClass } from "@/app/login/auth-card";
import { PASSWORD_MIN } from "@/lib/api/schemas/auth";
import { apiFetch, ApiClientError } from "@/lib/queries/api-fetch";

function SetupCodeField() {
  return (
    <div>
      <label htmlFor="setupCode" className={labelClass}>
        Setup code
      </label>
      <input
        id="setupCode"
        name="setupCode"
        autoComplete="off"
        spellCheck={false}
        required
        placeholder="XXXXX-XXXXX-XXXXX-XXXXX"
        className={`${inputClass} font-mono`}
      />
      <p className="mt-1 text-xs text-slate-500 dark:text-slate-400" data-testid="setup-code-help">
        You are not on the server itself, so nbdhub asks for the one-time code it printed in its log when it started
        (the line with “one-time setup code”). On the server, open this page at 127.0.0.1 instead.
      </p>
    </div>
  );
}

export function SetupForm({ needsCode }: { needsCode: boolean }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // The server may ask for the code even when the page did not (it decides per request).
  const [askCode, setAskCode] = useState(needsCode);
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const password = String(form.get("password") ?? "");
    if (password !== String(form.get("confirm") ?? "")) {
      setError("the two passwords differ");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const setupCode = askCode ? String(form.get("setupCode") ?? "").trim() : "";
      const username = String(form.get("username") ?? "");
      const json = { username, password, ...(setupCode ? { setupCode } : {}) };
      await apiFetch("/auth/setup", { method: "POST", json });
      window.location.assign("/");
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiClientError && err.code === "setup_done") {
        window.location.assign("/login");
        return;
      }
      if (err instanceof ApiClientError && err.code === "setup_code_required") setAskCode(true);
      const details = err instanceof ApiClientError && err.details ? Object.entries(err.details).map(([k, v]) => `${k}: ${v}`).join("; ") : "";
      setError(err instanceof ApiClientError ? details || err.message : "the server did not answer; try again");
    }
  }
  return (
    <form onSubmit={submit} className="space-y-4" data-testid="setup-form">
      <div>
        <label htmlFor="username" className={labelClass}>
          User name
        </label>
        <input id="username" name="username" defaultValue="admin" autoComplete="username" required className={inputClass} />
      </div>
      <div>
        <label htmlFor="password" className={labelClass}>
          Password
        </label>
        <input id="password" name="password" type="password" autoComplete="new-password" required minLength={PASSWORD_MIN} className={inputClass} />
        <p className="mt-1 text-xs text-slate-500 dark:text-slate-400">At least {PASSWORD_MIN} characters.</p>
      </div>
      <div>
        <label htmlFor="confirm" className={labelClass}>
          Password again
        </label>
        <input id="confirm" name="confirm" type="password" autoComplete="new-password" required className={inputClass} />
      </div>
      {askCode ? <SetupCodeField /> : null}
      {error ? (
        <p role="alert" data-testid="setup-error" className="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-800 dark:bg-rose-950/40 dark:text-rose-200">
          {error}
        </p>
      ) : null}
      <Button type="submit" variant="primary" busy={busy} className="w-full" data-testid="setup-submit">
        Create admin and sign in
      </Button>
    </form>
  );
}
