// The HTTP contract as a table: every route under app/api/v1, with the role it needs and the very
// zod schemas its route file hands to route() (params, query, body), plus what it answers. The
// table itself is data, contract.json: routes by area, each "METHOD /path" with its role, summary,
// the names of its schemas (exports of lib/api/schemas) and its refusals in words; this module
// resolves the names and fails at load on one it does not know. The OpenAPI document (openapi.ts)
// is generated from it. tests/unit/openapi.test.ts keeps it honest: every route file's methods are
// here and nothing else is, and each handler's spec (its role and schema objects, read from
// route()'s handler) is the one written here. Pure: no server imports.
import { z } from "zod";
import { ROLES } from "@/lib/auth/roles";
import type { Access } from "./access";
import table from "./contract.json";
import * as authSchemas from "./schemas/auth";
import * as backupSchemas from "./schemas/backups";
import * as healthSchemas from "./schemas/health";
import * as nbdSchemas from "./schemas/nbd";
import * as nodeSchemas from "./schemas/nodes";
import * as notificationSchemas from "./schemas/notifications";
import * as policySchemas from "./schemas/policies";
import * as restoreSchemas from "./schemas/restores";
import * as sourceSchemas from "./schemas/sources";
import * as statsSchemas from "./schemas/stats";

/** An answer that is not JSON (an event stream, Prometheus text), described in words. */
export type OtherAnswer = { contentType: string; description: string };
export type Answer = z.ZodType | OtherAnswer;

export type Operation = {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** As the folder under app/api/v1 names it: "/backups/[id]/cancel". */
  path: string;
  /** The group the console's API page and the document's tags put it in. */
  area: string;
  summary: string;
  access: Access;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** What a request that succeeds gets, by status. */
  answers: Record<number, Answer>;
  /** Refusals of this route beyond the ones every route has (roles, validation, 404 …): codes, in words. */
  errors?: Record<number, string>;
};

type Schemas = Record<string, z.ZodType>;
const SCHEMA_MODULES: Record<string, unknown>[] = [authSchemas, backupSchemas, healthSchemas, nbdSchemas];
SCHEMA_MODULES.push(nodeSchemas, notificationSchemas, policySchemas, restoreSchemas, sourceSchemas, statsSchemas);
const SCHEMAS: Schemas = Object.fromEntries(
  SCHEMA_MODULES.flatMap((module) => Object.entries(module)).filter(
    (entry): entry is [string, z.ZodType] => entry[1] instanceof z.ZodType,
  ),
);

function schema(name: string): z.ZodType {
  const found = SCHEMAS[name];
  if (!found) throw new Error(`contract.json names ${name}, which no module of lib/api/schemas exports`);
  return found;
}

/** Named answer shapes: components/schemas of the document, referred to by every route that answers them. */
export const ANSWER_COMPONENTS: Record<string, z.ZodType> = {
  BackupJob: schema("backupJobSchema"),
  BackupJobDetail: schema("backupJobDetailSchema"),
  BackupDisk: schema("backupDiskSchema"),
  BackupPage: schema("backupPageSchema"),
  JobEvent: schema("jobEventSchema"),
  CopyPlan: schema("copyPlanSchema"),
  Allocation: schema("allocationSchema"),
  PortPool: schema("poolSchema"),
  Export: schema("exportSchema"),
  StartedExport: schema("startedExportSchema"),
  ExportList: schema("exportListSchema"),
  Released: schema("releasedSchema"),
  Stopped: schema("stoppedSchema"),
  Node: schema("nodeSchema"),
  NodeList: schema("nodeListSchema"),
  SourceList: schema("sourceListSchema"),
  Restore: schema("restoreView"),
  RestorePage: schema("restorePage"),
  RestorePoint: schema("restorePointView"),
  RestorePointList: schema("restorePointList"),
  VmSummary: schema("vmSummaryView"),
  VmList: schema("vmList"),
  Policy: schema("policyView"),
  PolicyList: schema("policyList"),
  PolicyRun: schema("policyRunView"),
  PolicyRunList: schema("policyRunList"),
  PrunePreview: schema("prunePreviewView"),
  PruneResult: schema("pruneResultView"),
  NextRuns: schema("nextRunsView"),
  Deleted: schema("deletedView"),
  Repository: schema("repositoryView"),
  RepositoryHistory: schema("repositoryHistoryView"),
  Notification: schema("notificationView"),
  NotificationList: schema("notificationList"),
  Delivery: schema("deliveryView"),
  DeliveryList: schema("deliveryList"),
  Me: schema("meView"),
  SignedIn: schema("signedInView"),
  SetUp: schema("setUpView"),
  SignedOut: schema("signedOutView"),
  User: schema("userView"),
  UserList: schema("userListView"),
  Token: schema("tokenView"),
  CreatedToken: schema("createdTokenView"),
  TokenList: schema("tokenListView"),
  AuditPage: schema("auditPage"),
  Health: schema("healthSchema"),
  Metrics: schema("metricsSchema"),
  DashboardStats: schema("dashboardStatsSchema"),
  PoolHistory: schema("poolHistorySchema"),
};

const otherAnswer = z.strictObject({ contentType: z.string(), description: z.string() });
const tableRoute = z.strictObject({
  access: z.enum(["public", ...ROLES]),
  summary: z.string().min(1),
  params: z.string().optional(),
  query: z.string().optional(),
  body: z.string().optional(),
  answers: z.record(z.string().regex(/^\d{3}$/), z.union([z.string(), otherAnswer])),
  errors: z.record(z.string().regex(/^\d{3}$/), z.string()).optional(),
});
type TableRoute = z.infer<typeof tableRoute>;
const tableSchema = z.strictObject({
  areas: z.array(
    z.strictObject({
      name: z.string(),
      routes: z.record(z.string().regex(/^(GET|POST|PATCH|DELETE) \/\S*$/), tableRoute),
    }),
  ),
});

function operation(area: string, route: string, spec: TableRoute): Operation {
  const [method, path] = route.split(" ") as [Operation["method"], string];
  const answers = Object.entries(spec.answers).map(([status, a]) => [status, typeof a === "string" ? schema(a) : a]);
  return {
    method,
    path,
    area,
    summary: spec.summary,
    access: spec.access,
    ...(spec.params ? { params: schema(spec.params) } : {}),
    ...(spec.query ? { query: schema(spec.query) } : {}),
    ...(spec.body ? { body: schema(spec.body) } : {}),
    answers: Object.fromEntries(answers) as Record<number, Answer>,
    ...(spec.errors ? { errors: spec.errors as Record<number, string> } : {}),
  };
}

export const OPERATIONS: readonly Operation[] = tableSchema
  .parse(table)
  .areas.flatMap(({ name, routes }) => Object.entries(routes).map(([route, spec]) => operation(name, route, spec)));
