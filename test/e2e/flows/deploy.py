"""Deploys flows/hello.py to a work pool and starts one run: what a data scientist does from a laptop.

Usage: PREFECT_API_URL=http://<server>/api python deploy.py <work-pool> <deployment-name> [job-variables-json]
       [parameters-json]
Prints the flow run's id as the last line. The flow's code travels in the deployment itself: its pull steps write
hello.py into a scratch directory of whatever runs the flow (the process worker's container, or a kubernetes pool's
flow-run Job) and run it from there, so the cluster needs no storage of its own for the code (git, a bucket).
"""

import asyncio
import base64
import json
import shlex
import sys
from pathlib import Path

from prefect.client.orchestration import get_client

pool, name = sys.argv[1], sys.argv[2]
job_variables = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
parameters = {"name": name, **(json.loads(sys.argv[4]) if len(sys.argv) > 4 else {})}
source = base64.b64encode((Path(__file__).resolve().parent / "hello.py").read_bytes()).decode()
directory = "/tmp/cartographer-e2e-flow"
write = (
    f"import base64, os; os.makedirs({directory!r}, exist_ok=True); "
    f"open({directory!r} + '/hello.py', 'wb').write(base64.b64decode({source!r}))"
)
pull_steps = [
    {"prefect.deployments.steps.run_shell_script": {"script": f"python3 -c {shlex.quote(write)}"}},
    {"prefect.deployments.steps.set_working_directory": {"directory": directory}},
]


async def main() -> None:
    async with get_client() as client:
        flow_id = await client.create_flow_from_name("hello")
        deployment_id = await client.create_deployment(
            flow_id=flow_id,
            name=name,
            work_pool_name=pool,
            entrypoint="hello.py:hello",
            pull_steps=pull_steps,
            job_variables=job_variables,
        )
        run = await client.create_flow_run_from_deployment(deployment_id, parameters=parameters)
        print(run.id)


asyncio.run(main())
