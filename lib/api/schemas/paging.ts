// The query fields every keyset-paginated list shares (the job history, the restore list):
// how many rows a page holds and the cursor of the page before (lib/db/keyset-page.ts).
import { z } from "zod";

export const pageLimitSchema = z.coerce
  .number({ error: "a number from 1 to 200" })
  .int("a whole number")
  .min(1, "at least 1")
  .max(200, "at most 200")
  .default(50);

export const pageCursorSchema = z.string().max(200).optional();
