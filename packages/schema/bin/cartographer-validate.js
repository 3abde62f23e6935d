#!/usr/bin/env node
// `cartographer-validate` in a checkout (`npx cartographer-validate …`). npm links a workspace's commands when it
// installs it, and only if their files exist then: this launcher is checked in, so `npm ci` links it before
// anything is built. It runs the build's output (`npm run build`).
import("../dist/bin/validate.js").catch((error) => {
  if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes("dist/bin/validate.js")) throw error
  process.stderr.write("cartographer-validate: not built yet: run `npm run build` first\n")
  process.exitCode = 2
})
