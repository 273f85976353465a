// Requests that act on something one node owns (cancel a job or a restore, extend a restore,
// stop an export, release a port), answered by any node (issue 18, decision 030). The answering
// node tries the local code first: its owner check refuses another node's thing before anything
// changes (other_node). Then the request goes to the owner through Postgres (lib/node/control.ts),
// which runs the same local code; its answer or its error is this request's answer. A lost owner
// is not asked: 409 node_lost (the recovery of lost nodes ends its jobs).
import "server-only";
import type { BackupRunner } from "@/lib/backup/runner";
import type { BackupJobView } from "@/lib/backup/serialize";
import type { StartBackupInput } from "@/lib/backup/types";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import { hasCode } from "@/lib/errors";
import type { ExportManagerApi, PortPoolApi } from "@/lib/nbd/types";
import type { ControlChannel, ControlHandlers } from "@/lib/node/control";
import { refuseLostNode } from "@/lib/node/lost";
import { getRestore } from "@/lib/restore/reads";
import type { RestoreService } from "@/lib/restore/restore-service";
import type { RestoreView, StartRestoreInput } from "@/lib/restore/types";
import { compactAnswer, isWhole, placeBackup, placeRestore } from "./placement";

type Stopped = { port: number; clean: boolean };

type Parts = {
  db: Db;
  config: Config;
  backups: BackupRunner;
  restores: RestoreService;
  exports: ExportManagerApi;
  ports: PortPoolApi;
};

export type OwnerControl = {
  /** POST /backups: placed (decision 032), run on that node. */
  startBackup(request: StartBackupInput & { node?: string }, by: string): Promise<BackupJobView>;
  /** POST /restores: on its point's node. */
  startRestore(request: StartRestoreInput & { node?: string }, by: string): Promise<RestoreView>;
  cancelBackup(id: string, by: string): Promise<BackupJobView>;
  cancelRestore(id: string, by: string): Promise<RestoreView>;
  extendRestore(id: string, ttlSeconds: number): Promise<RestoreView>;
  stopExport(port: number, node?: string): Promise<Stopped | null>;
  stopJobExports(jobId: string): Promise<Stopped[]>;
  releasePort(port: number, node?: string): Promise<boolean>;
  releaseJobPorts(jobId: string): Promise<number[]>;
};

/** What this node runs when another asks: the local code, answering small JSON (ids, ports, flags). */
export function controlHandlers(parts: Parts): ControlHandlers {
  const { backups, restores, exports, ports } = parts;
  return {
    "backup.create": async (a: { request: StartBackupInput; by: string }) =>
      compactAnswer(await backups.create(a.request, a.by)),
    "restore.create": async (a: { request: StartRestoreInput; by: string }) =>
      compactAnswer(await restores.create(a.request, a.by)),
    "backup.cancel": async (a: { id: string; by: string }) => void (await backups.cancel(a.id, a.by)),
    "restore.cancel": async (a: { id: string; by: string }) => void (await restores.cancel(a.id, a.by)),
    "restore.extend": async (a: { id: string; ttlSeconds: number }) => void (await restores.extend(a.id, a.ttlSeconds)),
    "export.stop": (a: { port: number }) => exports.stop(a.port),
    "export.stopJob": (a: { jobId: string }) => exports.stopJob(a.jobId),
    "port.release": (a: { port: number }) => ports.release(a.port),
    "port.releaseJob": (a: { jobId: string }) => ports.releaseJob(a.jobId),
  };
}

export function ownerControl(parts: Parts, channel: ControlChannel): OwnerControl {
  const { db, config, backups, restores, exports, ports } = parts;

  /** Local first; another node's thing goes to that node (unless it is lost). */
  async function viaOwner<T>(local: () => Promise<T>, remote: (owner: string) => Promise<T>): Promise<T> {
    try {
      return await local();
    } catch (error) {
      const owner = hasCode(error, "other_node") ? (error.details as { node?: string } | undefined)?.node : undefined;
      if (!owner || owner === config.nodeName) throw error;
      await refuseLostNode(db, owner, config.nodeLeaseSeconds);
      return remote(owner);
    }
  }
  const ask = (owner: string, action: string, args: unknown) => channel.ask(owner, action, args);

  return {
    async startBackup({ node, ...request }, by) {
      const target = await placeBackup(db, config, request, node);
      if (target === config.nodeName) return backups.create(request, by);
      const answer = await ask(target, "backup.create", { request, by });
      return isWhole<BackupJobView>(answer) ? answer : backups.view((answer as { id: string }).id);
    },
    async startRestore({ node, ...request }, by) {
      const target = await placeRestore(db, config, request, node);
      if (target === config.nodeName) return restores.create(request, by);
      const answer = await ask(target, "restore.create", { request, by });
      return isWhole<RestoreView>(answer) ? answer : getRestore(db, (answer as { id: string }).id);
    },
    cancelBackup: (id, by) =>
      viaOwner(
        () => backups.cancel(id, by),
        async (owner) => {
          await ask(owner, "backup.cancel", { id, by });
          return backups.view(id);
        },
      ),
    cancelRestore: (id, by) =>
      viaOwner(
        () => restores.cancel(id, by),
        async (owner) => {
          await ask(owner, "restore.cancel", { id, by });
          return getRestore(db, id);
        },
      ),
    extendRestore: (id, ttlSeconds) =>
      viaOwner(
        () => restores.extend(id, ttlSeconds),
        async (owner) => {
          await ask(owner, "restore.extend", { id, ttlSeconds });
          return getRestore(db, id);
        },
      ),
    stopExport: (port, node) =>
      viaOwner(
        () => exports.stop(port, node),
        async (owner) => (await ask(owner, "export.stop", { port })) as Stopped | null,
      ),
    stopJobExports: (jobId) =>
      viaOwner(
        () => exports.stopJob(jobId),
        async (owner) => (await ask(owner, "export.stopJob", { jobId })) as Stopped[],
      ),
    releasePort: (port, node) =>
      viaOwner(
        () => ports.release(port, node),
        async (owner) => (await ask(owner, "port.release", { port })) as boolean,
      ),
    releaseJobPorts: (jobId) =>
      viaOwner(
        () => ports.releaseJob(jobId),
        async (owner) => (await ask(owner, "port.releaseJob", { jobId })) as number[],
      ),
  };
}
