// Types of the process helper's protocol (spawner-core.mjs is plain JavaScript).
export type SpawnOptions = {
  env: Record<string, string>;
  cwd?: string;
  /** ms; the child is sent SIGTERM (then SIGKILL after 5 s unless forceKillAfterDelay is false). */
  timeout?: number;
  stdin?: "ignore" | "pipe";
  /** "pipe": kept and returned in the result (the default); "ignore": /dev/null. */
  stdout?: "pipe" | "ignore";
  /** "pipe": kept and returned; "stream": sent as `out` events (fd 2), not kept; "ignore". */
  stderr?: "pipe" | "stream" | "ignore";
  /** A pipe on file descriptor 3, sent as `out` events (fd 3). */
  fd3?: boolean;
  detached?: boolean;
  /** false: the child outlives the helper and the server (qemu-nbd). */
  cleanup?: boolean;
  forceKillAfterDelay?: false;
  /** SIGKILL the child's process group when the child exits (detached children only). */
  killGroupOnExit?: boolean;
  uid?: number;
  gid?: number;
};

export type SpawnRequest = { t: "spawn"; id: number; file: string; args: string[]; options: SpawnOptions };
export type KillRequest = { t: "kill"; id: number; signal: NodeJS.Signals; group?: boolean };

export type RunResult = {
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  failed: boolean;
  timedOut: boolean;
  /** It never ran (not installed, not executable). */
  spawnFailed: boolean;
  message: string;
  shortMessage: string;
};

export type SpawnerEvent =
  | { t: "ready" }
  | { t: "spawned"; id: number; pid: number; startTime: string | null }
  | { t: "out"; id: number; fd: 2 | 3; data: Uint8Array }
  | { t: "exit"; id: number; result: RunResult };

export function createChildRunner(emit: (event: SpawnerEvent) => void): {
  spawn(request: SpawnRequest): void;
  kill(request: KillRequest): void;
};
