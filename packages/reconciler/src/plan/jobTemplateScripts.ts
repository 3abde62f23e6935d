/**
 * The two Python programs of a `kubernetes` pool's pod that put the Workspace's flow-run Job template into the Prefect
 * work pool (docs/adr/0009-kubernetes-pool-job-template.md). They run in the worker's own image, with its Prefect and
 * prefect-kubernetes, and reach the Prefect server as the worker does (its environment).
 *
 * - `renderTemplate` (init container): Prefect's own default template of that prefect-kubernetes (so the template
 *   always matches the worker's version) with the overlay the planner computed applied, marked with a hash of its
 *   content, written where the worker's `--base-job-template` reads it (the worker creates a missing pool with it).
 * - `syncTemplate` (a container beside the worker): puts that template into the work pool with a PATCH of
 *   `base_job_template` alone (the pool's pause state, concurrency limit and description stay the team's), when it
 *   starts and then every `syncSeconds`. An edit made outside the Workspace (the Prefect UI) is reverted. A template
 *   that carries an intact mark of another revision of this pool's workers is left alone after start: during a
 *   rollout the old and the new pods would otherwise take turns.
 */

/** How often the template is compared with the work pool's. */
export const syncSeconds = 30

/** The key of the mark: a hash of the template without it. */
const mark = "cartographer"

const digest = [
  "def digest(template):",
  `    body = {k: v for k, v in template.items() if k != "${mark}"}`,
  '    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]',
]

export const renderTemplate = [
  "import hashlib, json, os, sys",
  "from prefect_kubernetes.worker import KubernetesWorker",
  ...digest,
  'overlay = json.loads(os.environ["CARTOGRAPHER_JOB_TEMPLATE_OVERLAY"])',
  "template = KubernetesWorker.get_default_base_job_template()",
  'variables = template["variables"]["properties"]',
  'for name, value in overlay["defaults"].items():',
  "    if name not in variables:",
  '        sys.exit("the base job template of this image\'s prefect-kubernetes has no variable " + name + ": use an image with a newer prefect-kubernetes")',
  '    variables[name]["default"] = value',
  'variables.update(overlay["variables"])',
  'pod = template["job_configuration"]["job_manifest"]["spec"]["template"]["spec"]',
  'pod.update(overlay["pod"])',
  'container = pod["containers"][0]',
  'container.update(overlay["container"])',
  'for kind, extra in overlay["resources"].items():',
  '    container.setdefault("resources", {}).setdefault(kind, {}).update(extra)',
  `template["${mark}"] = {"hash": digest(template)}`,
  'with open(os.environ["CARTOGRAPHER_BASE_JOB_TEMPLATE"], "w") as out:',
  "    json.dump(template, out, sort_keys=True)",
  'print("flow-run Job template of work pool " + os.environ["CARTOGRAPHER_WORK_POOL"] + ": " + template["' +
    mark +
    '"]["hash"])',
].join("\n")

export const syncTemplate = [
  "import asyncio, hashlib, json, os, sys",
  "from prefect.client.orchestration import get_client",
  "from prefect.client.schemas.actions import WorkPoolUpdate",
  "from prefect.exceptions import ObjectNotFound",
  ...digest,
  'name = os.environ["CARTOGRAPHER_WORK_POOL"]',
  `interval = ${syncSeconds}`,
  'with open(os.environ["CARTOGRAPHER_BASE_JOB_TEMPLATE"]) as source:',
  "    desired = json.load(source)",
  "def intact(template):",
  `    return isinstance(template.get("${mark}"), dict) and template["${mark}"].get("hash") == digest(template)`,
  "async def sync(started):",
  "    async with get_client() as client:",
  "        try:",
  "            current = (await client.read_work_pool(name)).base_job_template",
  "        except ObjectNotFound:",
  '            return started, "does not exist yet: its worker creates it with the Workspace\'s template"',
  "        if current == desired:",
  '            return False, "has the Workspace\'s template"',
  "        if not started and intact(current):",
  '            return False, "has the template of another revision of its workers (a rollout under way): left to the newest"',
  "        await client.update_work_pool(name, WorkPoolUpdate(base_job_template=desired))",
  "        if intact(current):",
  "            return False, \"now has the Workspace's template (it had an earlier revision's)\"",
  '        return False, "had a template edited outside the Workspace (the Prefect UI?): put the Workspace\'s back"',
  "async def main():",
  "    started, said = True, None",
  "    while True:",
  "        try:",
  "            started, state = await sync(started)",
  "            stream = sys.stdout",
  "        except Exception as error:",
  '            state, stream = "cannot be read or written yet: " + type(error).__name__ + ": " + str(error), sys.stderr',
  "        if state != said:",
  '            print("work pool " + name + " " + state, file=stream, flush=True)',
  "            said = state",
  "        await asyncio.sleep(interval)",
  "asyncio.run(main())",
].join("\n")
