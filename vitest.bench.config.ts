import { defineConfig } from "vitest/config"

// Benchmarks (`*.bench.ts`) run apart from the tests (`npm run bench`): they print figures and assert no timings.
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
