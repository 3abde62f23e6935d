/**
 * `cartographer run`: the operator process. Configuration errors exit 2 before anything starts; afterwards
 * `NodeRuntime.runMain` owns the process: SIGTERM/SIGINT interrupt the program (clean shutdown, exit 0), a fatal
 * error exits 1.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect } from "effect"
import { limitHeapGrowth } from "../run/HeapGrowth.js"
import { main, teardown } from "../run/Operator.js"
import { loadRunConfig, usage } from "../run/RunConfig.js"

/** Starts the operator; resolves with an exit code only when it did not start (help, usage error). */
export const runOperator = async (argv: ReadonlyArray<string>): Promise<number | "started"> => {
  const loaded = await Effect.runPromise(Effect.result(loadRunConfig(argv)))
  if (loaded._tag === "Failure") {
    process.stderr.write(
      `cartographer run: ${loaded.failure.message}\nRun \`cartographer run --help\` for the options.\n`,
    )
    return 2
  }
  if (loaded.success === "help") {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  limitHeapGrowth()
  NodeRuntime.runMain(main(loaded.success), { disableErrorReporting: true, teardown })
  return "started"
}
