"""The flow the end-to-end suites run through a Workspace's own workers."""

from prefect import flow, get_run_logger


@flow(log_prints=True)
def hello(name: str = "cartographer") -> str:
    get_run_logger().info("running in a Cartographer workspace")
    print(f"hello {name}")
    return f"hello {name}"
