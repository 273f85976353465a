"use client";
// Cancel a queued or running job, after a confirmation; the outcome is a toast either way.
import { useState } from "react";
import { useCancelBackup } from "@/lib/queries/use-cancel-backup";
import { Button } from "../../components/button";
import { ConfirmDialog } from "../../components/confirm-dialog";
import { StopIcon } from "../../components/icons";
import { useToast } from "../../components/toast";
import { RoleGate } from "@/app/components/role-gate";

export function CancelJobButton({ jobId, vmName }: { jobId: string; vmName: string }) {
  const [open, setOpen] = useState(false);
  const cancel = useCancelBackup(jobId);
  const toast = useToast();
  // Operators and admins only: a viewer is not shown a button the API would refuse.
  return (
    <RoleGate role="operator">
      <Button
        variant="danger"
        data-testid="cancel-backup"
        icon={<StopIcon />}
        onClick={() => setOpen(true)}
        busy={cancel.isPending}
      >
        Cancel backup
      </Button>
      <ConfirmDialog
        open={open}
        title={`Cancel the backup of ${vmName}?`}
        confirmLabel="Cancel backup"
        cancelLabel="Keep running"
        busy={cancel.isPending}
        onClose={() => setOpen(false)}
        onConfirm={() =>
          cancel.mutate(undefined, {
            onSuccess: () =>
              toast.success(
                "Backup cancelled",
                `The copy of ${vmName} stops; its exports are stopped and their ports released.`,
              ),
            onError: (error) => toast.error("Could not cancel the backup", error.message),
            onSettled: () => setOpen(false),
          })
        }
      >
        The copy stops, each disk’s qemu-nbd export is stopped and its port goes back to the pool. What was written so
        far is not a usable backup.
      </ConfirmDialog>
    </RoleGate>
  );
}
