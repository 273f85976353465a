// ESLint with the Next.js configuration (core web vitals and TypeScript rules); run by `npm test`.
import { defineConfig, globalIgnores } from "eslint/config";
import nextVitals from "eslint-config-next/core-web-vitals";
import nextTs from "eslint-config-next/typescript";

// The React rules (the React Compiler's among them) cost more than half of the lint time, and
// most files are server code, tests and tools without a component or a hook: those files skip
// them. Playwright's fixture `use` and test helpers named use… are not hooks either.
const reactRules = Object.fromEntries(
  nextVitals
    .flatMap((config) => Object.keys(config.rules ?? {}))
    .filter((rule) => /^(react|react-hooks|jsx-a11y)\//.test(rule))
    .map((rule) => [rule, "off"]),
);

export default defineConfig([
  ...nextVitals,
  ...nextTs,
  {
    files: ["lib/**", "tests/**", "bench/**", "scripts/**", "prisma/**", "*.ts", "*.mjs", "*.mts"],
    ignores: ["lib/queries/**", "lib/**/*.tsx"],
    rules: reactRules,
  },
  {
    // Prettier wraps code at 120 columns but leaves comments and long messages alone: this
    // keeps comments under 120 too (a message, a test's name or a SQL statement may run on).
    rules: {
      "max-len": [
        "error",
        {
          code: 120,
          ignoreStrings: true,
          ignoreTemplateLiterals: true,
          ignoreUrls: true,
          ignoreRegExpLiterals: true,
        },
      ],
    },
  },
  globalIgnores([
    ".next/**",
    ".next-*/**",
    "dist/**",
    "node_modules/**",
    "data/**",
    "tests/artifacts/**",
    "lib/generated/**",
    "next-env.d.ts",
  ]),
]);
