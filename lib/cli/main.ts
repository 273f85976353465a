// nbdhub-client's entry (bin/nbdhub-client.mjs loads it): parse, run one command, map errors
// to the documented exit codes (exit-codes.ts). Uses only the hub's HTTP API and lib/nbd/client.
import { messageOf } from "@/lib/messages";
import { parseArgs } from "./args";
import { runBackup } from "./backup";
import { CliError, EXIT } from "./exit-codes";
import { helpText } from "./help";
import { describeHubError, HubError } from "./hub";
import { processIo, type Io } from "./io";
import { runJobs, runStatus } from "./jobs";
import { runRestore } from "./restore";

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  try {
    const args = parseArgs(argv, io.env);
    switch (args.command) {
      case "help":
        io.out(helpText(args.topic));
        return EXIT.ok;
      case "backup":
        return await runBackup(args, io);
      case "restore":
        return await runRestore(args, io);
      case "jobs":
        return await runJobs(args, io);
      case "status":
        return await runStatus(args, io);
    }
  } catch (error) {
    if (error instanceof CliError) {
      io.say(`nbdhub-client: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof HubError) {
      io.say(`nbdhub-client: ${describeHubError(error)}`);
      return EXIT.failed;
    }
    io.say(`nbdhub-client: ${messageOf(error)}`);
    return EXIT.failed;
  }
}
