// The API token: from --token-file (a file only its owner can read) or NBDHUB_TOKEN, never from
// the command line, where every user of the machine could read it in `ps`.
import { promises as fs } from "node:fs";
import { messageOf } from "@/lib/messages";
import { usageError } from "./exit-codes";

/** Why a token file's mode is unsafe, or null: group or others may read or write it. */
export function unsafeMode(mode: number): string | null {
  if ((mode & 0o077) === 0) return null;
  const octal = (mode & 0o777).toString(8).padStart(3, "0");
  return `mode ${octal} lets other users read or change it`;
}

export async function readToken(
  tokenFile: string | undefined,
  env: Record<string, string | undefined>,
): Promise<string> {
  if (tokenFile === undefined) {
    const token = env.NBDHUB_TOKEN?.trim();
    if (!token) throw usageError("no API token: give --token-file FILE (mode 0600) or set NBDHUB_TOKEN");
    return token;
  }
  let text: string;
  try {
    const stat = await fs.stat(tokenFile);
    if (!stat.isFile()) throw usageError(`the token file ${tokenFile} is not a file`);
    const unsafe = unsafeMode(stat.mode);
    if (unsafe) {
      throw usageError(`refusing the token file ${tokenFile}: ${unsafe}; run: chmod 600 ${tokenFile}`);
    }
    text = await fs.readFile(tokenFile, "utf8");
  } catch (error) {
    if (error instanceof Error && error.name === "CliError") throw error;
    throw usageError(`cannot read the token file ${tokenFile}: ${messageOf(error)}`);
  }
  const token = text.trim();
  if (!token || /\s/.test(token))
    throw usageError(`the token file ${tokenFile} must hold the token alone, on one line`);
  return token;
}
