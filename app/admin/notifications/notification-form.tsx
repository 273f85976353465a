"use client";
// Add a notification target, or change one. On a change the URL field starts empty: the stored
// URL is a secret the server never answers, so leaving the field empty keeps it.
import { useState, type FormEvent } from "react";
import { Button } from "@/app/components/button";
import { Panel } from "@/app/components/panel";
import { FormOutcome, inputClass, labelClass } from "@/app/components/form";
import type { Notification, NotificationBody, NotifyEvent, NotifyKind } from "@/lib/queries/use-notifications";
import { NOTIFY_EVENTS, useNotificationMutations } from "@/lib/queries/use-notifications";

export const EVENT_LABELS: Record<NotifyEvent, string> = {
  failed: "A job failed",
  completed: "A job completed",
  stale_vm: "A VM has no good backup for a while",
};

function bodyOf(form: FormData, editing: boolean): NotificationBody {
  const url = String(form.get("url") ?? "").trim();
  const stale = String(form.get("staleAfterHours") ?? "").trim();
  const on = NOTIFY_EVENTS.filter((e) => form.get(`on-${e}`) === "on");
  return {
    name: String(form.get("name") ?? "").trim(),
    kind: String(form.get("kind")) as NotifyKind,
    on,
    ...(url || !editing ? { url } : {}),
    ...(stale && on.includes("stale_vm") ? { staleAfterHours: Number(stale) } : {}),
  };
}

export function NotificationForm({ editing, onDone }: { editing: Notification | null; onDone: () => void }) {
  const { save } = useNotificationMutations();
  const [saved, setSaved] = useState<string | null>(null);
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formEl = e.currentTarget;
    setSaved(null);
    const body = bodyOf(new FormData(formEl), editing !== null);
    const result = await save.mutateAsync({ id: editing?.id ?? null, body }).catch(() => null);
    if (!result) return;
    if (editing) {
      onDone();
    } else {
      formEl.reset();
      setSaved(`Added “${result.name}”. Press Send test to check that it arrives.`);
    }
  }
  const id = editing?.id ?? "new";
  return (
    <Panel
      title={editing ? `Change “${editing.name}”` : "Add a notification"}
      description={
        editing
          ? `The URL now goes to ${editing.url}; leave the URL empty to keep it.`
          : "Where to post, in which format, and on which events."
      }
    >
      {/* Keyed by the target: switching to another one starts from its values. */}
      <form key={id} onSubmit={submit} className="space-y-4" data-testid="notification-form">
        <div className="grid gap-4 sm:grid-cols-[1fr_2fr_10rem]">
          <div>
            <label htmlFor={`ntf-name-${id}`} className={labelClass}>
              Name
            </label>
            <input
              id={`ntf-name-${id}`}
              name="name"
              required
              defaultValue={editing?.name}
              placeholder="e.g. ops channel"
              autoComplete="off"
              className={inputClass}
            />
          </div>
          <div>
            <label htmlFor={`ntf-url-${id}`} className={labelClass}>
              Webhook URL
            </label>
            <input
              id={`ntf-url-${id}`}
              name="url"
              type="url"
              required={!editing}
              placeholder={editing ? "empty: keep the current URL" : "https://hooks.example.com/…"}
              autoComplete="off"
              spellCheck={false}
              className={`${inputClass} font-mono`}
            />
          </div>
          <div>
            <label htmlFor={`ntf-kind-${id}`} className={labelClass}>
              Format
            </label>
            <select id={`ntf-kind-${id}`} name="kind" defaultValue={editing?.kind ?? "webhook"} className={inputClass}>
              <option value="webhook">JSON webhook</option>
              <option value="slack">Slack</option>
            </select>
          </div>
        </div>
        <fieldset>
          <legend className={labelClass}>Send when</legend>
          <div className="mt-2 flex flex-wrap items-center gap-x-6 gap-y-2 text-sm">
            {NOTIFY_EVENTS.map((event) => (
              <label key={event} className="flex items-center gap-2">
                <input
                  type="checkbox"
                  name={`on-${event}`}
                  defaultChecked={editing ? editing.on.includes(event) : event === "failed"}
                />
                {EVENT_LABELS[event]}
              </label>
            ))}
            <label className="flex items-center gap-2">
              for
              <input
                name="staleAfterHours"
                type="number"
                min="0.001"
                step="any"
                defaultValue={editing?.staleAfterHours ?? 24}
                aria-label="Hours without a good backup"
                className={`${inputClass} mt-0 max-w-24`}
              />
              hours
            </label>
          </div>
        </fieldset>
        <div className="flex items-center gap-2">
          <Button type="submit" variant="primary" busy={save.isPending} data-testid="notification-submit">
            {editing ? "Save changes" : "Add notification"}
          </Button>
          {editing ? (
            <Button variant="ghost" onClick={onDone}>
              Cancel
            </Button>
          ) : null}
        </div>
      </form>
      <FormOutcome error={save.error} done={saved} />
    </Panel>
  );
}
