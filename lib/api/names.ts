// Shared schemas for names (docs/api.md: vmName, exportName, diskId, jobId). Used by server and client.
import { z } from "zod";
import { NAME_HINT, NAME_PATTERN } from "@/lib/names";

export const nameSchema = z.string({ error: "a name (string)" }).regex(NAME_PATTERN, NAME_HINT);

export const portSchema = z
  .number({ error: "a port number" })
  .int("a whole number")
  .min(1, "a port between 1 and 65535")
  .max(65535, "a port between 1 and 65535");
