"use client";
// Sign-in form. On success the whole page reloads on `next`, so the header (rendered on the
// server) shows the user and nothing cached from before survives.
import { useState } from "react";
import { Button } from "@/app/components/button";
import { Field, Form, FormAlert, NO_ANSWER, TextInput, type FormValues } from "@/app/components/form";
import { apiFetch, ApiClientError } from "@/lib/queries/api-fetch";

export function LoginForm({ next }: { next: string }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(values: FormValues) {
    setBusy(true);
    setError(null);
    try {
      const json = { username: values.text("username"), password: values.text("password") };
      await apiFetch("/auth/login", { method: "POST", json });
      window.location.assign(next);
    } catch (err) {
      setBusy(false);
      setError(err instanceof ApiClientError ? err.message : NO_ANSWER);
    }
  }
  return (
    <Form onSubmit={submit} className="space-y-4" data-testid="login-form">
      <Field id="username" label="User name">
        <TextInput id="username" name="username" autoComplete="username" required autoFocus />
      </Field>
      <Field id="password" label="Password">
        <TextInput id="password" name="password" type="password" autoComplete="current-password" required />
      </Field>
      <FormAlert message={error} testId="login-error" />
      <Button type="submit" variant="primary" busy={busy} className="w-full" data-testid="login-submit">
        Sign in
      </Button>
    </Form>
  );
}
