/**
 * What the migration Job runs, once per revision, before any server replica starts on it: Prefect's database upgrade,
 * then the registration of the image's block types, which Prefect otherwise does in every API process at start.
 * Several replicas starting together on a fresh database race there: all insert the same block types and all but one
 * exit on the unique constraint (`uq_block_type__slug`; seen with two replicas on the real node), to be restarted by
 * the kubelet. So the servers run with `PREFECT_SERVER_REGISTER_BLOCKS_ON_START=false` and the Job registers them,
 * with the same code the server's startup calls.
 */
import type { EnvVar } from "./kube.js"

export const migrationArgs: ReadonlyArray<string> = [
  "python",
  "-c",
  [
    "import asyncio, subprocess, sys",
    'code = subprocess.call(["prefect", "server", "database", "upgrade", "-y"])',
    "if code:",
    "    sys.exit(code)",
    "from prefect.server.database import provide_database_interface",
    "from prefect.server.models.block_registration import run_block_auto_registration",
    "async def register():",
    "    session = await provide_database_interface().session()",
    "    async with session:",
    "        await run_block_auto_registration(session=session)",
    "asyncio.run(register())",
    'print("block types registered")',
  ].join("\n"),
]

/** The server's side: the Job registered the block types of its revision already. */
export const blockRegistrationEnv: ReadonlyArray<EnvVar> = [
  { name: "PREFECT_SERVER_REGISTER_BLOCKS_ON_START", value: "false" },
]

/** Prefect's older spelling of the setting. */
export const blockRegistrationEnvAliases = ["PREFECT_API_BLOCKS_REGISTER_ON_START"]
