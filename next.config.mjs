// Plain JavaScript, not next.config.ts: `next start` would transpile a .ts config with SWC at
// every start, which loads the 96 MiB native SWC binding into the server for good (about 24
// MiB of its resident memory, issue 15; docs/decisions/027-server-memory.md).

// `npm run build:standalone` (scripts/build-standalone.mjs) alone sets this: a self-contained
// server folder for deployment (docs/deploy.md). Off, the build is the one `next start` runs.
const standalone = process.env.NBDHUB_STANDALONE === "1";

/** @type {import("next").NextConfig} */
const nextConfig = {
  ...(standalone ? { output: "standalone" } : {}),
  // Child processes, pg and the Prisma runtime stay outside the bundle.
  serverExternalPackages: ["pg", "execa", "prom-client", "@prisma/adapter-pg", "@node-rs/argon2"],
  // Parallel work trees (and test runs) may build into their own folder.
  distDir: process.env.NBDHUB_NEXT_DIST || ".next",
  // Types are checked by `tsc --noEmit` in `npm test` (one place, whole project), not by every build.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  experimental: {
    // proxy.ts runs for /api (the path guard), and Next then reads the whole request body into
    // memory (default up to 10 MiB, twice) before the route runs. The API takes at most 64 KiB
    // (MAX_BODY_BYTES, lib/api/route.ts). Above this limit Next drops the chunk that crosses it
    // and ends the body there; socket chunks are at most 64 KiB, so what the route then reads is
    // still over its 64 KiB and it answers 413, never "invalid JSON".
    proxyClientMaxBodySize: 256 * 1024,
  },
  typedRoutes: false,
};

export default nextConfig;
