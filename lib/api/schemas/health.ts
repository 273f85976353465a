// The answer of GET /health (200 when everything is up, 503 with the same shape saying what is
// not). Pure zod, shared with the console.
import { z } from "zod";

export const healthSchema = z.object({
  /** `starting` while the server's runtime is not up yet. */
  status: z.enum(["ok", "degraded", "starting"]),
  db: z.enum(["ok", "down"]),
  /** qemu-nbd's version, or `missing`. */
  qemuNbd: z.string(),
  /** What is wrong, one sentence each; absent when nothing is. */
  problems: z.array(z.string()).optional(),
});
export type Health = z.infer<typeof healthSchema>;
