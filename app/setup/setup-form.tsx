"use client";
// The first admin account. The server accepts it only while there are no users at all, and
// from another machine only with the one-time setup code from the server's log.
import { useState } from "react";
import { Button } from "@/app/components/button";
import { errorText, Field, Form, FormAlert, NO_ANSWER, TextInput, type FormValues } from "@/app/components/form";
import { PASSWORD_MIN } from "@/lib/api/schemas/auth";
import { apiFetch, ApiClientError } from "@/lib/queries/api-fetch";

const CODE_HELP =
  "You are not on the server itself, so nbdhub asks for the one-time code it printed in its log when it started " +
  "(the line with “one-time setup code”). On the server, open this page at 127.0.0.1 instead.";

export function SetupForm({ needsCode }: { needsCode: boolean }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // The server may ask for the code even when the page did not (it decides per request).
  const [askCode, setAskCode] = useState(needsCode);
  async function submit(values: FormValues) {
    const password = values.text("password");
    if (password !== values.text("confirm")) {
      setError("the two passwords differ");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const setupCode = askCode ? values.text("setupCode").trim() : "";
      const json = { username: values.text("username"), password, ...(setupCode ? { setupCode } : {}) };
      await apiFetch("/auth/setup", { method: "POST", json });
      // A full load: the new session cookie, and every query, start afresh.
      // eslint-disable-next-line @next/next/no-location-assign-relative-destination
      window.location.assign("/");
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiClientError && err.code === "setup_done") {
        // eslint-disable-next-line @next/next/no-location-assign-relative-destination
        window.location.assign("/login");
        return;
      }
      if (err instanceof ApiClientError && err.code === "setup_code_required") setAskCode(true);
      setError(err instanceof ApiClientError ? errorText(err) : NO_ANSWER);
    }
  }
  return (
    <Form onSubmit={submit} className="space-y-4" data-testid="setup-form">
      <Field id="username" label="User name">
        <TextInput id="username" name="username" defaultValue="admin" autoComplete="username" required />
      </Field>
      <Field id="password" label="Password" hint={`At least ${PASSWORD_MIN} characters.`}>
        <TextInput
          id="password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          minLength={PASSWORD_MIN}
          aria-describedby="password-hint"
        />
      </Field>
      <Field id="confirm" label="Password again">
        <TextInput id="confirm" name="confirm" type="password" autoComplete="new-password" required />
      </Field>
      {askCode ? (
        <Field id="setupCode" label="Setup code" hint={<span data-testid="setup-code-help">{CODE_HELP}</span>}>
          <TextInput
            id="setupCode"
            name="setupCode"
            autoComplete="off"
            spellCheck={false}
            required
            placeholder="XXXXX-XXXXX-XXXXX-XXXXX"
            className="font-mono"
            aria-describedby="setupCode-hint"
          />
        </Field>
      ) : null}
      <FormAlert message={error} testId="setup-error" />
      <Button type="submit" variant="primary" busy={busy} className="w-full" data-testid="setup-submit">
        Create admin and sign in
      </Button>
    </Form>
  );
}
