// What a name may be (vmName, exportName, diskId, jobId: docs/api.md): safe on a command line
// and in a file name. The domain checks it itself (the backup runner's requests never pass the
// API's zod schemas); lib/api/names.ts builds the request schemas from the same rule.
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const NAME_HINT = "1-128 characters: letters, digits, '.', '_' or '-', starting with a letter or digit";

/** A node's name (NBDHUB_NODE_NAME, default the host name): host-name-like, so logs, URLs and the API carry it. */
export const NODE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const NODE_NAME_HINT = "1-63 characters: letters, digits, '.', '_' or '-', starting with a letter or digit";
