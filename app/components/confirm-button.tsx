"use client";
// A button for something that cannot be undone (revoke a token, delete a user): it opens a
// confirmation, and the action runs only from there. `onConfirm` gets `close` to call once
// the action has settled, so the dialog shows it busy until then.
import { useState, type ComponentProps, type ReactNode } from "react";
import { Button } from "./button";
import { ConfirmDialog } from "./confirm-dialog";

type ConfirmButtonProps = Omit<ComponentProps<typeof Button>, "onClick"> & {
  title: string;
  confirmLabel: string;
  /** What happens, said in the dialog. */
  consequence: ReactNode;
  onConfirm: (close: () => void) => void;
};

export function ConfirmButton({ title, confirmLabel, consequence, onConfirm, busy, ...button }: ConfirmButtonProps) {
  const [open, setOpen] = useState(false);
  const close = () => setOpen(false);
  return (
    <>
      <Button {...button} busy={busy} onClick={() => setOpen(true)} />
      <ConfirmDialog
        open={open}
        title={title}
        confirmLabel={confirmLabel}
        busy={busy}
        onClose={close}
        onConfirm={() => onConfirm(close)}
      >
        {consequence}
      </ConfirmDialog>
    </>
  );
}

type Removing = { mutate: (id: string, options: { onSettled: () => void }) => void; isPending: boolean };

/**
 * A table row's "Revoke" or "Delete" (an admin list's token, user): small, quiet, in red; once
 * confirmed it runs `removing` on the row's id and the dialog closes when that has settled.
 */
export function RemoveRowButton({
  id,
  removing,
  testId,
  ...confirm
}: Pick<ConfirmButtonProps, "title" | "confirmLabel" | "consequence" | "children"> & {
  id: string;
  removing: Removing;
  testId: string;
}) {
  return (
    <ConfirmButton
      size="sm"
      variant="ghost"
      className="text-rose-700 dark:text-rose-300"
      data-testid={testId}
      busy={removing.isPending}
      onConfirm={(close) => removing.mutate(id, { onSettled: close })}
      {...confirm}
    />
  );
}
