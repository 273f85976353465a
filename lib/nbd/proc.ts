// Reading /proc for the NBD layer: lib/proc/stat.ts holds the helpers (the process helper's
// callers in lib/proc need them too); they are named here as before.
export {
  isProcessAlive,
  listPids,
  parseCmdline,
  parseProcStat,
  readCmdline,
  readProcStat,
  signalProcess,
  type ProcStat,
} from "@/lib/proc/stat";
