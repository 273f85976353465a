"use client";
// The console's form kit: fields with their label, hint and error, inputs and selects of one
// look, a form that hands its values over, and the ways a form reports how it went. Used by
// sign-in, first run, New backup, Users, Tokens, Notifications and Audit.
import { useEffect, useRef } from "react";
import type {
  ChangeEvent,
  FormEvent,
  FormHTMLAttributes,
  InputHTMLAttributes,
  ReactNode,
  SelectHTMLAttributes,
} from "react";
import { messageOf } from "@/lib/messages";
import { ApiClientError } from "@/lib/queries/api-fetch";

export const inputClass = [
  "block w-full rounded-md border-0 bg-white px-3 py-2 text-sm text-slate-900 shadow-sm",
  "ring-1 ring-inset ring-slate-300",
  "placeholder:text-slate-400 focus:ring-2 focus:ring-sky-600 focus:outline-none aria-[invalid=true]:ring-rose-500",
  "dark:bg-slate-950 dark:text-slate-100 dark:ring-slate-700 dark:placeholder:text-slate-500",
].join(" ");

export const labelClass = "mb-1 block text-sm font-medium text-slate-700 dark:text-slate-200";

const hintClass = "mt-1 text-xs text-slate-500 dark:text-slate-400";

/** An API error as one line a person can read: the fields' own messages when the API named them. */
export function errorText(error: unknown): string {
  if (error instanceof ApiClientError) {
    const details = error.details
      ? Object.entries(error.details)
          .map(([k, v]) => `${k}: ${v}`)
          .join("; ")
      : "";
    return details || error.message;
  }
  return messageOf(error);
}

/** What sign-in and first run say when no answer came at all (the network, a server that is down). */
export const NO_ANSWER = "the server did not answer; try again";

/** The error of one field, in the API's words; its id is what the field's aria-describedby names. */
export function FieldError({ id, message }: { id: string; message?: string }) {
  if (!message) return null;
  return (
    <p
      id={id}
      data-testid={`error-${id.replace(/-error$/, "")}`}
      className="mt-1.5 text-sm text-rose-600 dark:text-rose-400"
    >
      {message}
    </p>
  );
}

type FieldProps = {
  /** The control's id: the label points at it, and its hint and error are `${id}-hint` / `${id}-error`. */
  id: string;
  label: ReactNode;
  hint?: ReactNode;
  error?: string;
  className?: string;
  children: ReactNode;
};

/** A label above its control, then the error when there is one, else the hint. */
export function Field({ id, label, hint, error, className, children }: FieldProps) {
  return (
    <div className={className}>
      <label htmlFor={id} className={labelClass}>
        {label}
      </label>
      {children}
      {error ? (
        <FieldError id={`${id}-error`} message={error} />
      ) : hint ? (
        <p id={`${id}-hint`} className={hintClass}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

export function TextInput({ className, ...props }: InputHTMLAttributes<HTMLInputElement>) {
  const ref = useRef<HTMLInputElement>(null);
  // Text typed before the page hydrated stays in the field, but a controlled input's state still
  // holds what it rendered with (React keeps the DOM's value when it hydrates and fires nothing):
  // the form would send "" under a filled-in field. Hand the typed text to onChange, once.
  useEffect(() => {
    const input = ref.current;
    if (!input || props.value === undefined || !props.onChange || input.value === String(props.value)) return;
    props.onChange({ target: input, currentTarget: input } as ChangeEvent<HTMLInputElement>);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once, right after hydration
  }, []);
  return <input ref={ref} {...props} className={className ? `${inputClass} ${className}` : inputClass} />;
}

export type Option = string | { value: string; label: string };

type SelectProps = SelectHTMLAttributes<HTMLSelectElement> & { options: readonly Option[] };

export function Select({ options, className, ...props }: SelectProps) {
  return (
    <select {...props} className={className ? `${inputClass} ${className}` : inputClass}>
      {options.map((o) => {
        const { value, label } = typeof o === "string" ? { value: o, label: o } : o;
        return (
          <option key={value} value={value}>
            {label}
          </option>
        );
      })}
    </select>
  );
}

/** A form's values by field name, as text ("" for a field that is missing). */
export type FormValues = { text(name: string): string };

type FormProps = Omit<FormHTMLAttributes<HTMLFormElement>, "onSubmit"> & {
  /** Gets the values; when it answers true the form is cleared (what it made is not made twice). */
  onSubmit: (values: FormValues) => unknown;
};

/** A form that is sent by script, never by the browser. */
export function Form({ onSubmit, children, ...props }: FormProps) {
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    if ((await onSubmit({ text: (name) => String(data.get(name) ?? "") })) === true) form.reset();
  }
  return (
    <form {...props} onSubmit={submit}>
      {children}
    </form>
  );
}

/** The box above a form's button that says why it was refused (sign-in, first run, New backup). */
export function FormAlert({ message, testId }: { message: string | null; testId: string }) {
  if (!message) return null;
  return (
    <p
      role="alert"
      data-testid={testId}
      className="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-800 dark:bg-rose-950/40 dark:text-rose-200"
    >
      {message}
    </p>
  );
}

const WENT_WRONG = "text-rose-700 dark:text-rose-300";
const WENT_WELL = "text-emerald-700 dark:text-emerald-300";

type FormOutcomeProps = {
  /** Why the last request failed; it wins over `done`. */
  error?: unknown;
  /** What the request did. */
  done?: string | null;
  /** `done` tells of a failure the request found (a test that was not delivered): said in red. */
  doneBadly?: boolean;
  /** Small, close under a table row's buttons. */
  small?: boolean;
  /** On `done`. */
  testId?: string;
};

/** Below a form (or a row's action): why its last request failed, or what it did. */
export function FormOutcome({ error, done, doneBadly = false, small = false, testId }: FormOutcomeProps) {
  const size = small ? "mt-1 text-xs" : "mt-3 text-sm";
  if (error) {
    return (
      <p role="alert" className={`${size} ${WENT_WRONG}`}>
        {errorText(error)}
      </p>
    );
  }
  if (!done) return null;
  return (
    <p role="status" data-testid={testId} className={`${size} ${doneBadly ? WENT_WRONG : WENT_WELL}`}>
      {done}
    </p>
  );
}
