"""Deploys flows/hello.py to a work pool and starts one run: what a data scientist does from a laptop.

Usage: PREFECT_API_URL=http://<server>/api python deploy.py <work-pool> <deployment-name> [job-variables-json]
Prints the flow run's id as the last line. The code is not copied anywhere: the deployment's pull step sets the
working directory to this folder, which the workers can read because they run on this machine.
"""

import json
import sys
from pathlib import Path

from prefect import flow
from prefect.deployments import run_deployment

pool, name = sys.argv[1], sys.argv[2]
job_variables = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
here = Path(__file__).resolve().parent

deployment_id = flow.from_source(source=str(here), entrypoint="hello.py:hello").deploy(
    name=name,
    work_pool_name=pool,
    job_variables=job_variables,
    print_next_steps=False,
    build=False,
    push=False,
)
run = run_deployment(name=f"hello/{name}", timeout=0, parameters={"name": name})
print(run.id)
