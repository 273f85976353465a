// The one way lib/ starts a child process (a guard test keeps it so): execa with the
// explicit environment of child-env.ts and `extendEnv: false`, since execa, like Node's
// spawn, would otherwise pass the server's whole environment, secrets included.
import "server-only";
import { execa, type Options } from "execa";
import { childEnv } from "./child-env";

export type ChildOptions = Omit<Options, "env" | "extendEnv"> & {
  /** Variables this child needs beyond PATH and the locale. */
  env?: Record<string, string>;
};

export function runChild<const O extends ChildOptions = Record<never, never>>(
  file: string,
  args: readonly string[],
  options?: O,
) {
  return execa(file, args, { ...(options as O), env: childEnv(options?.env), extendEnv: false as const });
}
