// Schemas of the NBD routes (docs/api.md "Port pool" and "qemu-nbd exports"): requests parsed by
// the routes, and answers parsed on the way out so a new column never leaks. Shared with the
// console (no server imports).
import { z } from "zod";
import { answerTime as isoTime } from "./times";
import { nameSchema, portSchema } from "@/lib/api/names";
import { NODE_NAME_HINT, NODE_NAME_PATTERN } from "@/lib/names";

/** A node's name (docs/api.md "Nodes"). */
export const nodeNameSchema = z.string({ error: NODE_NAME_HINT }).regex(NODE_NAME_PATTERN, NODE_NAME_HINT);

/** A port in a path segment ("/nbd/ports/10100"): digits only, then the same rules as portSchema. */
export const portParams = z.object({
  port: z
    .string()
    .regex(/^\d{1,5}$/, "a port number")
    .transform(Number)
    .pipe(portSchema),
});

export const allocateBody = z.strictObject({ jobId: nameSchema, vmName: nameSchema, exportName: nameSchema });

/**
 * A port (of this node, or of `node` when named: another node's is asked to act through Postgres) or
 * a job's ports.
 */
const portOrJob = (what: string) =>
  z
    .strictObject({ port: portSchema.optional(), node: nodeNameSchema.optional(), jobId: nameSchema.optional() })
    .refine((b) => (b.port === undefined) !== (b.jobId === undefined), {
      message: `either port or jobId (one of them) to ${what}`,
      path: ["port"],
    })
    .refine((b) => b.node === undefined || b.port !== undefined, {
      message: `node only with port (the node whose port to ${what})`,
      path: ["node"],
    });

export const releaseBody = portOrJob("release");
export const stopBody = portOrJob("stop");

export const startExportBody = z.strictObject({
  port: portSchema,
  exportName: nameSchema,
  filePath: z
    .string({ error: "a path to a qcow2 image inside the repository" })
    .min(1, "a path to a qcow2 image inside the repository")
    .max(4096, "at most 4096 characters"),
  jobId: nameSchema,
  vmName: nameSchema,
  diskId: nameSchema,
  readOnly: z.boolean({ error: "true or false" }).optional(),
});

export const allocationSchema = z.object({
  /** The node whose port it is (ports are keyed by node and port). */
  node: z.string(),
  port: z.number().int(),
  jobId: z.string(),
  vmName: z.string(),
  exportName: z.string(),
  allocatedAt: isoTime,
});
export type Allocation = z.infer<typeof allocationSchema>;

export const poolSchema = z.object({
  /** The node whose pool it is (the server that answered). */
  node: z.string(),
  range: z.object({ min: z.number().int(), max: z.number().int() }),
  total: z.number().int(),
  allocated: z.number().int(),
  available: z.number().int(),
  utilizationPercent: z.number(),
  allocations: z.array(allocationSchema),
});
export type PortPool = z.infer<typeof poolSchema>;

export const exportStatusSchema = z.enum(["starting", "ready", "stopping", "stopped", "crashed", "lost"]);

export const exportSchema = z.object({
  /** The node whose qemu-nbd it is. */
  node: z.string(),
  port: z.number().int(),
  exportName: z.string(),
  filePath: z.string(),
  pid: z.number().int().nullable(),
  jobId: z.string(),
  vmName: z.string(),
  diskId: z.string(),
  status: exportStatusSchema,
  startedAt: isoTime,
  /** `nbd://HOST:PORT/EXPORT`, HOST being the address NBD clients reach the hub at. */
  uri: z.string(),
  readOnly: z.boolean(),
  /** "restore": jobId is a restore's id (docs/api.md, restores). */
  ownerKind: z.enum(["backup", "restore"]),
  /** Seconds since it became ready, while it runs; null while starting and once it ended. */
  uptimeSeconds: z.number().int().nullable(),
  exitCode: z.number().int().nullable(),
  error: z.string().nullable(),
  /** When the process ended; null while it runs. */
  stoppedAt: isoTime.nullable(),
});
export type Export = z.infer<typeof exportSchema>;

/** A TLS export's pre-shared key (NBDHUB_NBD_TLS=required): the PSK identity and the key in hex. */
export const exportTlsKeySchema = z.object({ username: z.string(), psk: z.string() });

/** POST /nbd/qemu-nbd/start: the export, with its key when it requires TLS (this answer only). */
export const startedExportSchema = exportSchema.extend({ tls: exportTlsKeySchema.optional() });
export type ExportStatus = z.infer<typeof exportStatusSchema>;

/**
 * `GET /nbd/qemu-nbd?recent=SECONDS`: also the exports that ended in the last SECONDS (at most a
 * day); `node`: one node's exports only.
 */
export const exportListQuery = z.strictObject({
  node: nodeNameSchema.optional(),
  recent: z.coerce
    .number({ error: "seconds, from 0 to 86400" })
    .int("a whole number of seconds")
    .min(0, "seconds, from 0 to 86400")
    .max(86400, "seconds, from 0 to 86400")
    .optional(),
});

export const exportListSchema = z.object({ count: z.number().int(), processes: z.array(exportSchema) });
export type ExportList = z.infer<typeof exportListSchema>;
export const releasedSchema = z.object({ released: z.array(z.number().int()) });
export const stoppedSchema = z.object({ stopped: z.array(z.number().int()), unclean: z.array(z.number().int()) });
