// The format a disk image source is opened as. Never found by probing the file's contents:
// a raw disk belongs to its guest, which can write a qcow2 header into it, and a probed qcow2
// could name any host file as its backing or data file. So the request says, or the name
// does: `.qcow2` is qcow2, everything else raw (docs/decisions/009-source-safety.md).
export const SOURCE_FORMATS = ["raw", "qcow2"] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];

export function formatFromName(name: string): SourceFormat {
  return /\.qcow2$/i.test(name) ? "qcow2" : "raw";
}
