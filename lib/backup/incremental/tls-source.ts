// An incremental of an NBD source over TLS (nbds://, nbds+unix://) is refused up front (issue
// 13): the incremental engine reads the source with nbdhub's own NBD client, which has no TLS
// credentials for it (a full goes through nbdcopy, and libnbd finds its own), so the copy could
// only fail after the job had taken a port and made a target. Pure.
import { isNbdUri, parseNbdUri } from "@/lib/nbd/uri";

export const INCREMENTAL_TLS_CODE = "incremental_unsupported";

export const INCREMENTAL_TLS_REFUSAL =
  "an incremental backup cannot read an NBD source over TLS (nbds://): the incremental engine " +
  "reads with nbdhub's own NBD client, which has no TLS credentials for the source; back this " +
  'disk up with type "full" (nbdcopy reads it), or offer the source without TLS on an allowed host';

/** True for an nbds:// or nbds+unix:// URI; a URI the parser refuses is left to the usual checks. */
export function isTlsNbdSource(source: string): boolean {
  if (!isNbdUri(source)) return false;
  try {
    return parseNbdUri(source).tls;
  } catch {
    return false;
  }
}
