// Argument parsing for nbdhub-client: pure, so the unit tests cover every rule. Options are
// `--name value` or `--name=value`; repeatable ones collect in order; `--` ends the options.
// The token is never an option (it would show in `ps`): --token-file or NBDHUB_TOKEN.
import { usageError } from "./exit-codes";

type Kind = "string" | "list" | "flag" | "int";
type Spec = Record<string, Kind>;

const COMMON: Spec = { hub: "string", "token-file": "string", help: "flag" };
const SPECS = {
  backup: { ...COMMON, vm: "string", disk: "list", incremental: "flag", "dirty-bitmap": "string" },
  restore: { ...COMMON, job: "string", disk: "list", to: "string", force: "flag" },
  jobs: { ...COMMON, limit: "int", json: "flag" },
  status: { ...COMMON, json: "flag" },
} satisfies Record<string, Spec>;

export type CommandName = keyof typeof SPECS;
export const COMMANDS = Object.keys(SPECS) as CommandName[];

type Common = { hub: string; tokenFile: string | undefined };
export type BackupArgs = Common & {
  command: "backup";
  vm: string;
  disks: string[];
  incremental: boolean;
  dirtyBitmap: string | undefined;
};
export type RestoreArgs = Common & { command: "restore"; job: string; disks: string[]; to: string; force: boolean };
export type JobsArgs = Common & { command: "jobs"; limit: number; json: boolean };
export type StatusArgs = Common & { command: "status"; id: string; json: boolean };
export type HelpArgs = { command: "help"; topic: CommandName | undefined };
export type ParsedArgs = BackupArgs | RestoreArgs | JobsArgs | StatusArgs | HelpArgs;

type Values = { strings: Map<string, string>; lists: Map<string, string[]>; flags: Set<string>; positional: string[] };

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const TOKEN_LIKE = /^--(token|password|secret|psk)(=|$)/;

function readOptions(command: CommandName, argv: string[]): Values {
  const spec: Spec = SPECS[command];
  const values: Values = { strings: new Map(), lists: new Map(), flags: new Set(), positional: [] };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === "--") {
      values.positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("--")) {
      if (arg.startsWith("-") && arg !== "-") {
        throw usageError(arg === "-h" ? "use --help" : `unknown option ${arg} for ${command} (see --help)`);
      }
      values.positional.push(arg);
      continue;
    }
    if (TOKEN_LIKE.test(arg)) {
      throw usageError("a token is never given on the command line: use --token-file FILE or NBDHUB_TOKEN");
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const kind = spec[name];
    if (!kind) throw usageError(`unknown option --${name} for ${command} (see nbdhub-client ${command} --help)`);
    if (kind === "flag") {
      if (eq >= 0) throw usageError(`--${name} takes no value`);
      values.flags.add(name);
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith("--")) throw usageError(`--${name} needs a value`);
      i += 1;
    }
    if (value === "") throw usageError(`--${name} needs a value`);
    if (kind === "list") values.lists.set(name, [...(values.lists.get(name) ?? []), value]);
    else if (values.strings.has(name)) throw usageError(`--${name} is given twice`);
    else values.strings.set(name, value);
  }
  return values;
}

function required(values: Values, name: string, command: string): string {
  const value = values.strings.get(name);
  if (value === undefined) throw usageError(`${command} needs --${name} (see nbdhub-client ${command} --help)`);
  return value;
}

function hubUrl(values: Values, env: Record<string, string | undefined>): string {
  const given = values.strings.get("hub") ?? env.NBDHUB_URL;
  if (!given) throw usageError("the hub's address is needed: --hub URL (or NBDHUB_URL), e.g. --hub http://hub:3000");
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw usageError(`--hub ${given} is not a URL (e.g. http://hub:3000)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw usageError("--hub must be an http:// or https:// URL");
  if (url.username || url.password) throw usageError("--hub must not carry a user or password: use --token-file");
  return url.origin + url.pathname.replace(/\/+$/, "");
}

function checkName(value: string, what: string): string {
  if (!NAME.test(value))
    throw usageError(`${what} ${JSON.stringify(value)}: letters, digits, '.', '_' and '-' (at most 128)`);
  return value;
}

function noPositional(values: Values, command: string): void {
  if (values.positional.length)
    throw usageError(`${command} takes no argument ${JSON.stringify(values.positional[0])}`);
}

/** Parse `argv` (without node and the script); `env` supplies NBDHUB_URL. Throws CliError (exit 2). */
export function parseArgs(argv: string[], env: Record<string, string | undefined> = {}): ParsedArgs {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    const topic = first === "help" ? rest[0] : undefined;
    if (topic !== undefined && !COMMANDS.includes(topic as CommandName)) throw usageError(`unknown command ${topic}`);
    return { command: "help", topic: topic as CommandName | undefined };
  }
  if (!COMMANDS.includes(first as CommandName)) {
    throw usageError(`unknown command ${JSON.stringify(first)}: one of ${COMMANDS.join(", ")} (see --help)`);
  }
  const command = first as CommandName;
  if (rest.includes("--help") || rest.includes("-h")) return { command: "help", topic: command };
  const values = readOptions(command, rest);
  const common = { hub: hubUrl(values, env), tokenFile: values.strings.get("token-file") };
  switch (command) {
    case "backup": {
      noPositional(values, command);
      const disks = values.lists.get("disk") ?? [];
      if (!disks.length) throw usageError("backup needs at least one --disk PATH_OR_NBD_URI");
      const incremental = values.flags.has("incremental");
      const dirtyBitmap = values.strings.get("dirty-bitmap");
      if (dirtyBitmap !== undefined && !incremental) throw usageError("--dirty-bitmap goes with --incremental");
      if (incremental && dirtyBitmap === undefined) {
        throw usageError(
          "--incremental needs --dirty-bitmap NAME: nbdhub-client copies only the blocks a dirty bitmap of the " +
            "source marks (it has no content diff); without a bitmap, run a full backup",
        );
      }
      if (dirtyBitmap !== undefined) checkName(dirtyBitmap, "--dirty-bitmap");
      return {
        command,
        ...common,
        vm: checkName(required(values, "vm", command), "--vm"),
        disks,
        incremental,
        dirtyBitmap,
      };
    }
    case "restore": {
      noPositional(values, command);
      const disks = (values.lists.get("disk") ?? []).map((d) => checkName(d, "--disk"));
      if (new Set(disks).size !== disks.length) throw usageError("a --disk is named twice");
      return {
        command,
        ...common,
        job: checkName(required(values, "job", command), "--job"),
        disks,
        to: required(values, "to", command),
        force: values.flags.has("force"),
      };
    }
    case "jobs": {
      noPositional(values, command);
      const text = values.strings.get("limit") ?? "20";
      if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 200) {
        throw usageError(`--limit ${text}: a whole number from 1 to 200`);
      }
      return { command, ...common, limit: Number(text), json: values.flags.has("json") };
    }
    case "status": {
      if (values.positional.length !== 1) throw usageError("status needs one job id: nbdhub-client status ID");
      return { command, ...common, id: checkName(values.positional[0], "job id"), json: values.flags.has("json") };
    }
  }
}
