"""The flow the end-to-end suites run through a Workspace's own workers."""

import importlib

from prefect import flow, get_run_logger


@flow(log_prints=True)
def hello(name: str = "cartographer", require: str | None = None) -> str:
    """Says hello; with `require`, first imports that module and prints where it was found."""
    get_run_logger().info("running in a Cartographer workspace")
    if require is not None:
        module = importlib.import_module(require)
        print(f"imported {require} from {module.__file__}")
    print(f"hello {name}")
    return f"hello {name}"
