import { defineConfig } from "vitest/config"

// One vitest run for the whole monorepo (so that the real control plane starts once per run).
// - `unit`: pure code, no processes; `*.test.ts` anywhere outside `*.it.test.ts`.
// - `integration`: `*.it.test.ts`, against the real kube-apiserver (+ controllers, kwok) that the global setup
//   starts once; suites isolate themselves by namespace.
// Packages resolve each other's sources through the `@cartographer/source` export condition: no build needed.
const conditions = ["@cartographer/source", "node", "import", "module", "default"]
const resolve = { conditions }
const shared = { resolve, ssr: { resolve: { conditions, externalConditions: conditions } } }
const exclude = ["**/node_modules/**", "**/dist/**"]

export default defineConfig({
  ...shared,
  test: {
    projects: [
      {
        ...shared,
        test: {
          name: "unit",
          include: ["{packages,apps,test}/**/*.test.ts"],
          exclude: [...exclude, "**/*.it.test.ts"],
          testTimeout: 60_000,
        },
      },
      {
        ...shared,
        test: {
          name: "integration",
          include: ["{packages,apps,test}/**/*.it.test.ts"],
          exclude,
          globalSetup: ["test/harness/globalSetup.ts"],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          // One shared control plane: keep files in one fork pool, a few at a time, on 2 cores.
          maxWorkers: 2,
        },
      },
    ],
  },
})
