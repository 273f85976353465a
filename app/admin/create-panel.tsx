"use client";
// The "add one" panel of the admin pages (a user, a token, each with a role): its text fields in
// one row on wide screens, the role and the button last, then why the server refused, or what was
// made. Each form is data (CreateForm): the request's body is its fields' values and the role. The
// form is cleared only when the server made the thing, so a refused one can be corrected and sent
// again.
import { useState, type InputHTMLAttributes, type ReactNode } from "react";
import { Button } from "@/app/components/button";
import { Field, Form, FormOutcome, Select, TextInput, type FormValues } from "@/app/components/form";
import { Panel } from "@/app/components/panel";
import { ROLES, type Role } from "@/lib/auth/roles";

type Creating<B, T> = { mutateAsync: (body: B) => Promise<T>; isPending: boolean; error: unknown };

/** A text field: its label, and its input's id, name (the body's key it fills) and attributes. */
type CreateField = { label: string; id: string; name: string } & InputHTMLAttributes<HTMLInputElement>;

/** One admin form: what its panel says, its fields, the role it starts with. */
export type CreateForm = {
  /** `${kind}-create-form` and `${kind}-create-submit` are the form's and the button's test ids. */
  kind: string;
  title: string;
  description: string;
  /** The button's label. */
  submit: string;
  fields: CreateField[];
  defaultRole: Role;
};

/** The grid's columns on wide screens: one per field, the role's, then the button's. */
const COLUMNS: Record<number, string> = {
  1: "sm:grid-cols-[1fr_10rem_auto]",
  2: "sm:grid-cols-[1fr_1fr_10rem_auto]",
};

type CreatePanelProps<B extends { role: Role }, T> = {
  form: CreateForm;
  creating: Creating<B, T>;
  /** What was made, below the form; `dismiss` forgets it. */
  made: (made: T, dismiss: () => void) => ReactNode;
};

export function CreatePanel<B extends { role: Role }, T>({ form, creating, made }: CreatePanelProps<B, T>) {
  const { kind, title, description, submit, fields, defaultRole } = form;
  const [result, setResult] = useState<T | null>(null);
  async function send(values: FormValues) {
    setResult(null);
    const texts = Object.fromEntries(fields.map((f) => [f.name, values.text(f.name)]));
    const body = { ...texts, role: values.text("role") as Role } as B;
    const answer = await creating.mutateAsync(body).then(
      (value) => ({ value }),
      () => null,
    );
    if (answer) setResult(answer.value);
    return answer !== null;
  }
  return (
    <Panel title={title} description={description}>
      <Form
        onSubmit={send}
        className={`grid gap-4 sm:items-end ${COLUMNS[fields.length]}`}
        data-testid={`${kind}-create-form`}
      >
        {fields.map(({ label, ...input }) => (
          <Field key={input.id} id={input.id} label={label}>
            <TextInput {...input} />
          </Field>
        ))}
        <Field id={`new-${kind}-role`} label="Role">
          <Select id={`new-${kind}-role`} name="role" defaultValue={defaultRole} options={ROLES} />
        </Field>
        <Button type="submit" variant="primary" busy={creating.isPending} data-testid={`${kind}-create-submit`}>
          {submit}
        </Button>
      </Form>
      <FormOutcome error={creating.error} />
      {result !== null ? made(result, () => setResult(null)) : null}
    </Panel>
  );
}
