"use client";
// The "add one" panel of the admin pages (a user, a token, each with a role): its fields in one
// row on wide screens, the role and the button last, then why the server refused, or what was
// made. The form is cleared only when the server made the thing, so a refused one can be
// corrected and sent again.
import { useState, type ReactNode } from "react";
import { Button } from "@/app/components/button";
import { Field, Form, FormOutcome, Select, type FormValues } from "@/app/components/form";
import { Panel } from "@/app/components/panel";
import { ROLES, type Role } from "@/lib/auth/roles";

type Creating<B, T> = { mutateAsync: (body: B) => Promise<T>; isPending: boolean; error: unknown };

/** What the panel says: its heading, and the button's label. */
export type CreateCopy = { title: string; description: string; submit: string };

type CreatePanelProps<B extends { role: Role }, T> = {
  /** `${kind}-create-form` and `${kind}-create-submit` are the form's and the button's test ids. */
  kind: string;
  copy: CreateCopy;
  /** The grid's columns on wide screens: one per field, the role's, then `auto` for the button. */
  columns: string;
  defaultRole: Role;
  creating: Creating<B, T>;
  /** The request's body from the fields' values; the panel adds the role. */
  bodyOf: (values: FormValues) => Omit<B, "role">;
  /** The fields before the role. */
  fields: ReactNode;
  /** What was made, below the form; `dismiss` forgets it. */
  made: (made: T, dismiss: () => void) => ReactNode;
};

export function CreatePanel<B extends { role: Role }, T>(props: CreatePanelProps<B, T>) {
  const { kind, copy, columns, defaultRole, creating, bodyOf, fields } = props;
  const [made, setMade] = useState<T | null>(null);
  async function submit(values: FormValues) {
    setMade(null);
    const body = { ...bodyOf(values), role: values.text("role") as Role } as B;
    const result = await creating.mutateAsync(body).then(
      (value) => ({ value }),
      () => null,
    );
    if (result) setMade(result.value);
    return result !== null;
  }
  return (
    <Panel title={copy.title} description={copy.description}>
      <Form onSubmit={submit} className={`grid gap-4 sm:items-end ${columns}`} data-testid={`${kind}-create-form`}>
        {fields}
        <Field id={`new-${kind}-role`} label="Role">
          <Select id={`new-${kind}-role`} name="role" defaultValue={defaultRole} options={ROLES} />
        </Field>
        <Button type="submit" variant="primary" busy={creating.isPending} data-testid={`${kind}-create-submit`}>
          {copy.submit}
        </Button>
      </Form>
      <FormOutcome error={creating.error} />
      {made !== null ? props.made(made, () => setMade(null)) : null}
    </Panel>
  );
}
