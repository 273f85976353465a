// The answer of GET /sources (docs/api.md "Sources"): the disk images the New backup form offers.
// Built by lib/backup/sources-list.ts; pure zod, shared with the console.
import { z } from "zod";
import { SOURCE_FORMATS } from "@/lib/backup/source-format";

export const sourceSchema = z.object({
  /** Relative to the sources root: what a backup request names as its `source`. */
  path: z.string(),
  name: z.string(),
  /** From the name, as for a backup: `.qcow2` is qcow2, anything else raw. */
  format: z.enum(SOURCE_FORMATS),
  virtualSize: z.number().int().min(0),
  actualSize: z.number().int().min(0),
  modifiedAt: z.iso.datetime(),
  /** Why this image cannot be backed up, or null. */
  problem: z.string().nullable(),
});
export type Source = z.infer<typeof sourceSchema>;

/** At most 500 images, in path order; `truncated` when there were more. */
export const sourceListSchema = z.object({ items: z.array(sourceSchema), truncated: z.boolean() });
export type SourceList = z.infer<typeof sourceListSchema>;
