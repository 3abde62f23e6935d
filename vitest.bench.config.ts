import { defineConfig } from "vitest/config"

// Vitest-style micro benchmarks (`*.bench.ts` with `it`, e.g. packages/schema/bench) run apart from the tests
// (`npm run bench:micro`, or a package's `npm run bench`): they print figures and assert no timings. The repository
// benchmark is `npm run bench` (test/bench).
const conditions = ["@cartographer/source", "node", "import", "module", "default"]

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    include: ["{packages,apps,test}/**/*.bench.ts"],
    testTimeout: 600_000,
    fileParallelism: false,
  },
})
