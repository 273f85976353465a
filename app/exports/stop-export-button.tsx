"use client";
// Stop one qemu-nbd, after a confirmation: the disk it serves can no longer be written.
import { useState } from "react";
import type { Export } from "@/lib/queries/types";
import { useStopExport } from "@/lib/queries/use-stop-export";
import { Button } from "../components/button";
import { ConfirmDialog } from "../components/confirm-dialog";
import { StopIcon } from "../components/icons";
import { useToast } from "../components/toast";
import { RoleGate } from "@/app/components/role-gate";

export function StopExportButton({ exp }: { exp: Export }) {
  const [open, setOpen] = useState(false);
  const stop = useStopExport();
  const toast = useToast();
  const busy = stop.isPending || exp.status === "stopping";
  return (
    <RoleGate role="operator">
      <Button
        size="sm"
        variant="secondary"
        icon={<StopIcon className="h-3.5 w-3.5" />}
        busy={busy}
        onClick={() => setOpen(true)}
        aria-label={`Stop the export on port ${exp.port}`}
      >
        Stop
      </Button>
      <ConfirmDialog
        open={open}
        title={`Stop the export on port ${exp.port}?`}
        confirmLabel="Stop export"
        busy={stop.isPending}
        onClose={() => setOpen(false)}
        onConfirm={() =>
          stop.mutate(exp, {
            onSuccess: () =>
              toast.success(
                `Export on port ${exp.port} stopped`,
                "qemu-nbd exited and the port went back to the pool.",
              ),
            onError: (error) => toast.error(`Could not stop the export on port ${exp.port}`, error.message),
            onSettled: () => setOpen(false),
          })
        }
      >
        qemu-nbd for{" "}
        <strong>
          {exp.vmName} / {exp.diskId}
        </strong>{" "}
        gets SIGTERM (then SIGKILL after 10 s). If a backup is still writing this disk, that disk fails.
      </ConfirmDialog>
    </RoleGate>
  );
}
