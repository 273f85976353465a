// Types of scripts/next-start.mjs for the TypeScript that imports it (the tests' launcher).
export declare const KEEP_ALIVE_MS: number;
export declare const SERVER_NODE_ARGS: string[];
export declare const SERVER_ENV: Record<string, string>;
export declare function nextStartArgs(host: string, port: string | number): string[];
export declare function nextStartCommand(
  root: string,
  host: string,
  port: string | number,
  nodeArgs?: string[],
): [string, string[]];
