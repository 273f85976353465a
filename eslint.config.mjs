// ESLint with the Next.js configuration (core web vitals and TypeScript rules); run by `npm test`.
import { defineConfig, globalIgnores } from "eslint/config";
import nextVitals from "eslint-config-next/core-web-vitals";
import nextTs from "eslint-config-next/typescript";

export default defineConfig([
  ...nextVitals,
  ...nextTs,
  {
    // Tests and tools are not React: Playwright's fixture `use` and test helpers named use…
    // are not hooks.
    files: ["tests/**", "bench/**", "scripts/**"],
    rules: { "react-hooks/rules-of-hooks": "off" },
  },
  globalIgnores([".next/**", "node_modules/**", "data/**", "tests/artifacts/**", "lib/generated/**", "next-env.d.ts"]),
]);
