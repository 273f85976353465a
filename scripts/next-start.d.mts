// Types of scripts/next-start.mjs for the TypeScript that imports it (the tests' launcher).
export declare const KEEP_ALIVE_MS: number;
export declare function nextStartArgs(host: string, port: string | number): string[];
