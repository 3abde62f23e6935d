// Lets Node 24 run the TypeScript sources directly (its type stripping), for the benchmark: relative imports are
// written `./x.js` (NodeNext style) while the files on disk are `./x.ts`.
import { existsSync } from "node:fs"
import { registerHooks } from "node:module"
import { fileURLToPath } from "node:url"

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier.startsWith(".") && specifier.endsWith(".js") && context.parentURL?.startsWith("file:")) {
      const ts = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL)
      if (!existsSync(fileURLToPath(new URL(specifier, context.parentURL))) && existsSync(fileURLToPath(ts)))
        return nextResolve(ts.href, context)
    }
    return nextResolve(specifier, context)
  },
})
