/**
 * `EXTRA_PIP_PACKAGES` on a hardened Prefect pod.
 *
 * The official Prefect images' entrypoint installs that variable's packages with `uv pip install --system` before it
 * runs the container's command. As user 1001 on a read-only root filesystem (every Prefect pod of a Workspace) that
 * install fails under `set -e`, and the container crash-loops. So the variable never reaches the entrypoint: an init
 * container of the same image installs the packages into a volume, with the image's own packages as constraints (a
 * dependency the image already has is installed at the very same version, never replaced by another one), and the
 * container finds them on `PYTHONPATH`. Flow runs of a process pool are the worker's subprocesses and inherit it.
 *
 * The init container gets the container's other variables too, so that an index (`UV_INDEX_URL`, `PIP_INDEX_URL`),
 * a proxy or credentials set for the pool apply to the install.
 */
import { cartographerVolumes } from "@cartographer/schema"
import type { Container, EnvVar, Volume, VolumeMount } from "./kube.js"
import { prefectScratch } from "./podSecurity.js"

export const extraPackagesVariable = "EXTRA_PIP_PACKAGES"
/** Where the packages go: a volume of the pod, first on the container's `PYTHONPATH`. */
export const extraPackagesDir = cartographerVolumes.extraPackages.mountPath
const volumeName = cartographerVolumes.extraPackages.name

/** The install, with uv as the images' entrypoint uses it, or pip in an image without uv. */
const installScript = [
  "set -eu",
  "if command -v uv >/dev/null 2>&1; then",
  "  uv pip freeze --system --exclude-editable > /tmp/image-packages.txt",
  `  exec uv pip install --system --target ${extraPackagesDir} --constraint /tmp/image-packages.txt $CARTOGRAPHER_EXTRA_PIP_PACKAGES`,
  "else",
  "  python -m pip freeze --exclude-editable > /tmp/image-packages.txt",
  `  exec python -m pip install --no-input --target ${extraPackagesDir} --constraint /tmp/image-packages.txt $CARTOGRAPHER_EXTRA_PIP_PACKAGES`,
  "fi",
].join("\n")

export interface ExtraPackages {
  /** The container's environment without the variable, with the packages' directory first on `PYTHONPATH`. */
  readonly env: ReadonlyArray<EnvVar>
  readonly initContainer: Container
  readonly volume: Volume
  readonly mount: VolumeMount
}

/** The same value or reference under another name. */
const renamed = (variable: EnvVar, name: string): EnvVar =>
  variable.valueFrom === undefined ? { name, value: variable.value ?? "" } : { name, valueFrom: variable.valueFrom }

/** `PYTHONPATH` with the packages first; a literal one of the user's stays after them. */
const pythonPath = (env: ReadonlyArray<EnvVar>): EnvVar => {
  const user = env.find((e) => e.name === "PYTHONPATH")
  const rest = user?.value !== undefined && user.value !== "" ? `:${user.value}` : ""
  return { name: "PYTHONPATH", value: `${extraPackagesDir}${rest}` }
}

/**
 * What a Prefect container whose environment names `EXTRA_PIP_PACKAGES` needs instead; undefined when it names none.
 * `container` is the container as it would run without extra packages.
 */
export const extraPackages = (container: Container): ExtraPackages | undefined => {
  const env = container.env ?? []
  const requested = env.find((e) => e.name === extraPackagesVariable)
  if (requested === undefined) return undefined
  const others = env.filter((e) => e.name !== extraPackagesVariable && e.name !== "PYTHONPATH")
  const mount = { name: volumeName, mountPath: extraPackagesDir }
  return {
    env: [...others, pythonPath(env)],
    volume: { name: volumeName, emptyDir: {} },
    mount,
    initContainer: {
      name: "extra-pip-packages",
      image: container.image,
      imagePullPolicy: container.imagePullPolicy,
      // Arguments only, as for every Prefect container: the image's entrypoint stays (without the variable it
      // installs nothing and runs this).
      args: ["sh", "-c", installScript],
      ...(container.workingDir === undefined ? {} : { workingDir: container.workingDir }),
      env: [
        ...others,
        renamed(requested, "CARTOGRAPHER_EXTRA_PIP_PACKAGES"),
        { name: "UV_CACHE_DIR", value: "/tmp/uv-cache" },
        { name: "PIP_CACHE_DIR", value: "/tmp/pip-cache" },
      ],
      resources: container.resources,
      volumeMounts: [...prefectScratch.mounts, mount],
      securityContext: container.securityContext,
    },
  }
}
