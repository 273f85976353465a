"use client";
// One restore, live. Export mode: each disk's nbd:// URI (copy button), the expiry with Extend,
// and the commands a person runs with it. Copy mode: a progress bar, rate, ETA, Cancel.
import Link from "next/link";
import { RoleGate } from "@/app/components/role-gate";
import { BackLink } from "../../components/arrow-link";
import { isActiveRestore, type Restore, type RestoreDisk } from "@/lib/queries/restore-types";
import { useRestore } from "@/lib/queries/use-restore";
import { useCancelRestore, useExtendRestore } from "@/lib/queries/use-restore-actions";
import { Button } from "../../components/button";
import { CopyButton } from "../../components/copy-button";
import { formatBytes } from "@/lib/format";
import { formatDateTime, formatDuration } from "../../components/format";
import { jobHref } from "../../components/hrefs";
import { StopIcon } from "../../components/icons";
import { LiveIndicator } from "../../components/live-indicator";
import { Panel } from "../../components/panel";
import { QueryError } from "../../components/query-error";
import { useToast } from "../../components/toast";
import { StalledBadge } from "../../components/stalled-badge";
import { TransferProgress } from "../../components/transfer-progress";
import { useNow } from "../../components/use-now";
import { RestoreStatusBadge } from "../restore-status-badge";

function Command({ text }: { text: string }) {
  return (
    <div className="flex items-center gap-2 rounded-md bg-slate-900 px-3 py-2 font-mono text-xs text-slate-100 dark:bg-black">
      <code className="min-w-0 flex-1 overflow-x-auto whitespace-nowrap">{text}</code>
      <CopyButton value={text} label="Copy command" />
    </div>
  );
}

function ExportDisk({ disk, served }: { disk: RestoreDisk; served: boolean }) {
  const uri = disk.nbdUri;
  return (
    <Panel
      id={`disk-${disk.diskId}`}
      title={`Disk ${disk.diskId}`}
      description={`${formatBytes(disk.totalBytes)} · read-only`}
      bodyClassName="p-4 space-y-3"
    >
      <div className="flex items-center gap-2">
        <RestoreStatusBadge status={disk.status} />
        {uri ? (
          <span className="flex min-w-0 items-center gap-1 font-mono text-sm" data-testid="restore-uri">
            <span className="truncate">{uri}</span>
            <CopyButton value={uri} label="Copy URI" />
          </span>
        ) : null}
      </div>
      {uri && served ? (
        <div className="space-y-1.5" data-testid="restore-commands">
          <Command text={`nbdcopy ${uri} ${disk.diskId}.raw`} />
          <Command text={`qemu-img convert -f raw -O qcow2 ${uri} ${disk.diskId}.qcow2`} />
          <Command text={`nbdinfo --map ${uri}`} />
        </div>
      ) : null}
      <p className="text-xs text-slate-500" title={disk.chain.join(" → ")}>
        Reads through {disk.chain.length} file{disk.chain.length === 1 ? "" : "s"}:{" "}
        {disk.chain.map((f) => f.split("/").pop()).join(" → ")}
      </p>
      {disk.error ? <p className="text-sm text-rose-600">{disk.error}</p> : null}
    </Panel>
  );
}

function CopyDisk({ disk, active, now }: { disk: RestoreDisk; active: boolean; now: number }) {
  const dest = disk.destination
    ? "nbd" in disk.destination
      ? disk.destination.nbd
      : `${disk.destination.path} (${disk.destination.format ?? "raw"})`
    : "—";
  return (
    <Panel id={`disk-${disk.diskId}`} title={`Disk ${disk.diskId} → ${dest}`} bodyClassName="p-4 space-y-3">
      <TransferProgress
        status={disk.status}
        transferredBytes={disk.transferredBytes}
        totalBytes={disk.totalBytes}
        active={active}
        bytesPerSecond={disk.bytesPerSecond}
        etaSeconds={disk.etaSeconds}
        label={`Copy of disk ${disk.diskId}`}
        size="lg"
        percentTestId="restore-percent"
        barTestId="restore-progress"
      />
      <div className="flex items-center gap-2 text-sm">
        <RestoreStatusBadge status={disk.status} testId="restore-disk-status" />
        {active ? <StalledBadge since={disk.stalledSince} now={now} testId="restore-disk-stalled" /> : null}
        {disk.status === "completed" ? (
          <span className="text-slate-600 dark:text-slate-300">
            qemu-img compare found the copy identical to the restore point
          </span>
        ) : null}
        {disk.error ? <span className="text-rose-600">{disk.error}</span> : null}
      </div>
    </Panel>
  );
}

function Expiry({ restore, now }: { restore: Restore; now: number }) {
  const extend = useExtendRestore(restore.id);
  const toast = useToast();
  if (restore.mode !== "export" || !restore.expiresAt) return null;
  const left = (Date.parse(restore.expiresAt) - now) / 1000;
  return (
    <div className="flex flex-wrap items-center gap-3 text-sm" data-testid="restore-expiry">
      <span>
        Served until <span className="font-medium">{formatDateTime(restore.expiresAt)}</span>
        {restore.status === "ready" && left > 0 ? ` (${formatDuration(left)} left)` : ""}
      </span>
      {restore.status === "ready" ? (
        <RoleGate role="operator">
          <Button
            size="sm"
            busy={extend.isPending}
            onClick={() => extend.mutate(3600, { onError: (e) => toast.error("Could not extend", e.message) })}
          >
            Extend by 1 h
          </Button>
        </RoleGate>
      ) : null}
    </div>
  );
}

export function RestoreView({ id }: { id: string }) {
  const restore = useRestore(id);
  const cancel = useCancelRestore(id);
  const toast = useToast();
  const now = useNow();
  if (restore.isError && !restore.data)
    return <QueryError error={restore.error} what="this restore" onRetry={() => restore.refetch()} />;
  if (!restore.data)
    return <div className="h-40 animate-pulse rounded-xl bg-slate-200/70 dark:bg-slate-800/60" aria-busy="true" />;
  const r = restore.data;
  const active = isActiveRestore(r.status);
  return (
    <div className="space-y-6">
      <div className="space-y-3">
        <BackLink href="/restores">Restores</BackLink>
        <div className="flex flex-wrap items-start justify-between gap-4">
          <div>
            <div className="flex flex-wrap items-center gap-3">
              <h1 className="text-2xl font-semibold tracking-tight">
                {r.mode === "export" ? "Export of" : "Copy of"} {r.vmName}
              </h1>
              <RestoreStatusBadge status={r.status} size="md" testId="restore-status" />
              {active ? <LiveIndicator state={restore.live ? "live" : "reconnecting"} /> : null}
            </div>
            <p className="mt-1 text-xs text-slate-500">
              <span className="font-mono">{r.id}</span> · point{" "}
              <Link href={jobHref(r.jobId)} className="font-mono hover:underline">
                {r.jobId}
              </Link>
              {r.requestedBy ? ` · by ${r.requestedBy}` : ""}
            </p>
          </div>
          {active ? (
            <RoleGate role="operator">
              <Button
                variant="danger"
                icon={<StopIcon />}
                busy={cancel.isPending}
                data-testid="cancel-restore"
                onClick={() =>
                  cancel.mutate(undefined, { onError: (e) => toast.error("Could not cancel the restore", e.message) })
                }
              >
                {r.mode === "export" ? "End export" : "Cancel copy"}
              </Button>
            </RoleGate>
          ) : null}
        </div>
      </div>
      {r.error ? (
        <div
          role="alert"
          data-testid="restore-error"
          className="rounded-xl border border-rose-200 bg-rose-50 p-4 text-sm text-rose-800 dark:border-rose-900/60 dark:bg-rose-950/40 dark:text-rose-200"
        >
          {r.error}
        </div>
      ) : null}
      <Expiry restore={r} now={now} />
      <div className="grid gap-4 lg:grid-cols-2">
        {r.disks.map((d) =>
          r.mode === "export" ? (
            <ExportDisk key={d.diskId} disk={d} served={r.status === "ready"} />
          ) : (
            <CopyDisk key={d.diskId} disk={d} active={active} now={now} />
          ),
        )}
      </div>
    </div>
  );
}
