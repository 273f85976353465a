// Compile-time checks that the API's zod schemas and the domain's own types agree, so the domain
// never imports the HTTP layer (docs/decisions/013-layering.md). A request schema's output must
// be a valid domain input; an answer schema must describe exactly what the domain answers. A
// drift fails `tsc --noEmit` here, naming the pair. Nothing here runs.
import type { z } from "zod";
import type {
  AuditEventView,
  AuditFilter,
  AuditPage,
  CreatedTokenView,
  Credentials,
  TokenView,
  UserPatch,
  UserView,
} from "@/lib/auth/types";
import type { JobPage } from "@/lib/backup/job-reads";
import type { BackupDiskView, BackupJobView, JobEventView } from "@/lib/backup/serialize";
import type { SourceList } from "@/lib/backup/sources-list";
import type { CompletionReport, JobListFilter, ProgressReport, StartBackupInput } from "@/lib/backup/types";
import type { Allocation, ExportInfo, PoolCounts, StartedExport } from "@/lib/nbd/types";
import type { DashboardStats, PoolHistory } from "@/lib/stats/types";
import type { auditEventView, auditPage, auditQuery, createdTokenView, loginBody, tokenView } from "./schemas/auth";
import type { updateUserBody, userView } from "./schemas/auth";
import type { CopyPlanView } from "@/lib/backup/plan-preview";
import type { PlanQuery } from "@/lib/backup/plan-preview";
import type {
  completeBody,
  copyPlanSchema,
  listBackupsQuery,
  planQuery,
  progressBody,
  startBackupSchema,
} from "./schemas/backups";
import type { backupDiskSchema, backupJobDetailSchema, backupJobSchema, backupPageSchema } from "./schemas/backups";
import type { jobEventSchema } from "./schemas/backups";
import type { allocationSchema, exportSchema, poolSchema, startedExportSchema } from "./schemas/nbd";
import type { sourceListSchema } from "./schemas/sources";
import type { nodeListSchema, nodeSchema } from "./schemas/nodes";
import type { NodeView } from "@/lib/node/types";
import type { dashboardStatsSchema, poolHistorySchema } from "./schemas/stats";
import type {
  RestoreListFilter,
  RestorePointView,
  RestoreView,
  StartRestoreInput,
  VmSummaryView,
} from "@/lib/restore/types";
import type {
  listRestoresQuery,
  restorePointView,
  restoreView,
  startRestoreBody,
  vmSummaryView,
} from "./schemas/restores";
import type { NotificationInput, NotificationPatch } from "@/lib/notify/types";
import type { PolicyInput, PolicyPatch } from "@/lib/policy/types";
import type { createNotificationBody, updateNotificationBody } from "./schemas/notifications";
import type { createPolicyBody, updatePolicyBody } from "./schemas/policies";
import type { DeliveryView, NotificationView } from "@/lib/notify/types";
import type { PolicyRunView, PolicyView, PrunePreview, PruneResult } from "@/lib/policy/types";
import type { RepositoryPoint, RepositoryView } from "@/lib/stats/types";
import type { MetricsJson } from "@/lib/runtime/metrics";
import type { deliveryView, notificationView } from "./schemas/notifications";
import type { policyRunView, policyView, prunePreviewView, pruneResultView } from "./schemas/policies";
import type { repositoryHistoryView, repositoryView } from "./schemas/policies";
import type { metricsSchema } from "./schemas/stats";

/** The schema's output can be handed to the domain as `Input`. */
type Feeds<S extends z.ZodType, Input> = z.output<S> extends Input ? true : false;
/** The schema describes `View` exactly (both ways assignable). */
type Describes<S extends z.ZodType, View> = [z.output<S>] extends [View]
  ? [View] extends [z.output<S>]
    ? true
    : false
  : false;
type Holds<T extends true> = T;

// Not exported and never used: tsc checks each Holds<…> all the same.
// eslint-disable-next-line @typescript-eslint/no-unused-vars
type SchemaContracts = [
  Holds<Feeds<typeof startBackupSchema, StartBackupInput>>,
  Holds<Feeds<typeof progressBody, ProgressReport>>,
  Holds<Feeds<typeof completeBody, CompletionReport>>,
  Holds<Feeds<typeof listBackupsQuery, JobListFilter>>,
  Holds<Feeds<typeof planQuery, PlanQuery>>,
  Holds<Feeds<typeof loginBody, Credentials>>,
  Holds<Feeds<typeof updateUserBody, UserPatch>>,
  Holds<Feeds<typeof auditQuery, AuditFilter>>,
  Holds<Feeds<typeof createPolicyBody, PolicyInput>>,
  Holds<Feeds<typeof updatePolicyBody, PolicyPatch>>,
  Holds<Feeds<typeof createNotificationBody, NotificationInput>>,
  Holds<Feeds<typeof updateNotificationBody, NotificationPatch>>,
  Holds<Describes<typeof userView, UserView>>,
  Holds<Describes<typeof tokenView, TokenView>>,
  Holds<Describes<typeof createdTokenView, CreatedTokenView>>,
  Holds<Describes<typeof auditEventView, AuditEventView>>,
  Holds<Describes<typeof auditPage, AuditPage>>,
  // The answers the console reads: its types are inferred from these schemas.
  Holds<Describes<typeof backupDiskSchema, BackupDiskView>>,
  Holds<Describes<typeof backupJobSchema, BackupJobView>>,
  Holds<Describes<typeof copyPlanSchema, CopyPlanView>>,
  Holds<Describes<typeof jobEventSchema, JobEventView>>,
  Holds<Describes<typeof backupJobDetailSchema, BackupJobView & { events: JobEventView[] }>>,
  Holds<Describes<typeof backupPageSchema, JobPage>>,
  Holds<Describes<typeof allocationSchema, Allocation>>,
  Holds<Describes<typeof poolSchema, PoolCounts & { node: string; allocations: Allocation[] }>>,
  Holds<Describes<typeof exportSchema, ExportInfo>>,
  Holds<Describes<typeof nodeSchema, NodeView>>,
  Holds<Describes<typeof nodeListSchema, { items: NodeView[] }>>,
  Holds<Describes<typeof startedExportSchema, StartedExport>>,
  Holds<Describes<typeof sourceListSchema, SourceList>>,
  Holds<Describes<typeof dashboardStatsSchema, DashboardStats>>,
  Holds<Describes<typeof poolHistorySchema, PoolHistory>>,
  Holds<Feeds<typeof startRestoreBody, StartRestoreInput>>,
  Holds<Feeds<typeof listRestoresQuery, RestoreListFilter>>,
  Holds<Describes<typeof restoreView, RestoreView>>,
  Holds<Describes<typeof restorePointView, RestorePointView>>,
  Holds<Describes<typeof vmSummaryView, VmSummaryView>>,
  // Answers described only in the OpenAPI document (lib/api/openapi.ts).
  Holds<Describes<typeof policyView, PolicyView>>,
  Holds<Describes<typeof policyRunView, PolicyRunView>>,
  Holds<Describes<typeof prunePreviewView, PrunePreview>>,
  Holds<Describes<typeof pruneResultView, PruneResult>>,
  Holds<Describes<typeof notificationView, NotificationView>>,
  Holds<Describes<typeof deliveryView, DeliveryView>>,
  Holds<Describes<typeof repositoryView, RepositoryView>>,
  Holds<Describes<typeof repositoryHistoryView, { points: RepositoryPoint[] }>>,
  Holds<Describes<typeof metricsSchema, MetricsJson>>,
];
