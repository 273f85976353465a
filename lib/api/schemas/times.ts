// How every answer writes a time: ISO-8601 in UTC, as Date.toISOString() gives it.
import { z } from "zod";

export const answerTime = z.iso.datetime();
