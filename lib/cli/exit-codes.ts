// The exit codes of nbdhub-client (docs/cli.md), and the one error type that carries one.

export const EXIT = {
  /** The command did what it was asked (a backup completed, a restore was copied). */
  ok: 0,
  /** The hub refused or failed the work, or a copy failed. */
  failed: 1,
  /** Bad arguments, or a local problem found before anything was asked of the hub. */
  usage: 2,
  /** The hub cannot be reached, or it refused the token. */
  unreachable: 3,
  /** Cancelled by Ctrl-C (SIGINT) or SIGTERM; the job or restore was cancelled on the hub. */
  cancelled: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI prints as it is (one sentence, no stack) and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage);

export const EXIT_CODES_HELP = `Exit codes:
  0    done (backup completed, restore copied, query answered)
  1    failed: the hub refused or failed the work, or a copy failed
  2    usage: bad arguments, an unsafe token file, a disk or destination refused locally
  3    cannot reach the hub, or it refused the token
  130  cancelled (Ctrl-C or SIGTERM): the job or restore was cancelled on the hub`;
