import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Child processes, pg and the Prisma runtime stay outside the bundle.
  serverExternalPackages: ["pg", "execa", "prom-client", "@prisma/adapter-pg", "@node-rs/argon2"],
  // Parallel work trees (and test runs) may build into their own folder.
  distDir: process.env.NBDHUB_NEXT_DIST || ".next",
  poweredByHeader: false,
  typedRoutes: false,
};

export default nextConfig;
