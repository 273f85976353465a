// What a command talks to: its output streams, its environment, and the hub.
import { Hub } from "./hub";
import { readToken } from "./token";

export type Stream = { isTTY?: boolean; columns?: number; write(text: string): unknown };

export type Io = {
  stdout: Stream;
  env: Record<string, string | undefined>;
  /** A line on stdout. */
  out(text: string): void;
  /** A line on stderr. */
  say(text: string): void;
};

export function processIo(): Io {
  return {
    stdout: process.stdout,
    env: process.env,
    out: (text) => process.stdout.write(`${text}\n`),
    say: (text) => process.stderr.write(`${text}\n`),
  };
}

/** The hub with the token read from --token-file or NBDHUB_TOKEN. */
export async function connectHub(args: { hub: string; tokenFile: string | undefined }, io: Io): Promise<Hub> {
  return new Hub(args.hub, await readToken(args.tokenFile, io.env));
}
