// The --help texts of nbdhub-client and its commands (docs/cli.md says the same at length).
import type { CommandName } from "./args";
import { EXIT_CODES_HELP } from "./exit-codes";

const CONNECTION = `  --hub URL            the hub, e.g. http://hub:3000 (or NBDHUB_URL)
  --token-file FILE    a file holding the API token, mode 0600 (or NBDHUB_TOKEN);
                       never give the token itself on the command line`;

const TEXTS: Record<CommandName | "main", string> = {
  main: `nbdhub-client: write VM disks into an nbdhub hub over NBD, and pull restore points back.

Usage:
  nbdhub-client backup  --hub URL --token-file F --vm NAME --disk PATH_OR_NBD_URI [--disk …]
                        [--incremental --dirty-bitmap NAME]
  nbdhub-client restore --hub URL --token-file F --job ID [--disk ID …] --to PATH_OR_NBD_URI [--force]
  nbdhub-client jobs    --hub URL --token-file F [--limit N] [--json]
  nbdhub-client status  --hub URL --token-file F ID [--json]
  nbdhub-client COMMAND --help

${EXIT_CODES_HELP}`,
  backup: `nbdhub-client backup: back up a VM's disks into the hub (an external job).

  --vm NAME            the VM's name on the hub
  --disk SOURCE        a disk, in order (disk0, disk1, …): a raw or qcow2 file (told apart by its
                       header; a qcow2 is read as the guest sees it, through a private read-only
                       qemu-nbd; one naming a backing or data file is refused), or an nbd:// or
                       nbd+unix:// URI read directly
  --incremental        only the blocks changed since the VM's last backup, as a dirty bitmap of
                       each source marks them; needs --dirty-bitmap
  --dirty-bitmap NAME  the bitmap: qemu:dirty-bitmap:NAME of an NBD source, or the persistent
                       bitmap NAME of a qcow2 file
${CONNECTION}

Progress is reported to the hub once a second; then the hub checks the targets and the final
status is printed. Ctrl-C or SIGTERM cancels the job on the hub (a second Ctrl-C exits at once).

${EXIT_CODES_HELP}`,
  restore: `nbdhub-client restore: copy a restore point's disks out of the hub.

  --job ID             the completed backup job to restore
  --disk ID            a disk of it (repeatable); every disk when left out
  --to DEST            one disk: a new raw file, or an nbd:// URI; several disks, or DEST an
                       existing folder (or ending in /): the folder gets one DISK.raw per disk
  --force              overwrite existing files
${CONNECTION}

The hub serves the point read-only (a restore in export mode); the restore is cancelled once
the copy ends, so its exports stop. Ctrl-C cancels it and removes the partial files.

${EXIT_CODES_HELP}`,
  jobs: `nbdhub-client jobs: the hub's backup jobs, newest first.

  --limit N            how many (1-200, default 20)
  --json               the jobs as JSON (an array of the hub's BackupJob)
${CONNECTION}

${EXIT_CODES_HELP}`,
  status: `nbdhub-client status ID: one backup job and its disks.

  --json               the hub's BackupJob as JSON
${CONNECTION}

${EXIT_CODES_HELP}`,
};

export function helpText(topic: CommandName | undefined): string {
  return TEXTS[topic ?? "main"];
}
