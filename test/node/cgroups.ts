// The node's own cgroup subtree, `/cartographer-node-<id>` in every mounted hierarchy: kubelet's cgroupRoot (its
// `kubepods` tree and every container go below it) and `…/system` for the node's own processes. Owning the whole
// subtree is what makes the teardown exact: every process of the node, containerd's shims and the containers
// included, is listed in it, and nothing of the node is left once the subtree is empty and removed.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const cgroupRoot = "/sys/fs/cgroup"

/** A mounted cgroup hierarchy: its directory, and whether it is cgroup v2. */
interface Hierarchy {
  readonly dir: string
  readonly v2: boolean
}

/** Every hierarchy a process is placed in: all v1 controllers (and named ones) plus the unified one, as mounted. */
export const hierarchies = (): ReadonlyArray<Hierarchy> => {
  const found: Hierarchy[] = []
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    // … mount-point … - fstype source options
    const [before, after] = line.split(" - ")
    if (!before || !after) continue
    const fstype = after.split(" ")[0]
    const mountPoint = before.split(" ")[4]
    if (!mountPoint?.startsWith(cgroupRoot)) continue
    if (fstype === "cgroup" || fstype === "cgroup2") found.push({ dir: mountPoint, v2: fstype === "cgroup2" })
  }
  return found
}

/** The cgroup path (same in every hierarchy) of a node. */
export const nodeCgroup = (id: string) => `/cartographer-node-${id}`

// mkdir(2) one level at a time: a cgroup directory's parents are created (and later removed) only if we own them.
const mkdirCgroup = (hierarchy: Hierarchy, path: string) => {
  const dir = join(hierarchy.dir, path)
  if (existsSync(dir)) return
  mkdirSync(dir)
  // A v1 cpuset group takes no task until it has cpus and mems: inherit the parent's.
  if (!hierarchy.v2 && existsSync(join(dir, "cpuset.cpus"))) {
    for (const file of ["cpuset.cpus", "cpuset.mems"]) {
      writeFileSync(join(dir, file), readFileSync(join(dir, "..", file), "utf8"))
    }
  }
}

/** Creates `<node>` and `<node>/system` in every hierarchy. */
export const createNodeCgroups = (id: string): void => {
  for (const hierarchy of hierarchies()) {
    if (hierarchy.v2) {
      // Controllers must be enabled top-down for kubelet's groups below to use them.
      const controllers = readFileSync(join(hierarchy.dir, "cgroup.controllers"), "utf8").trim()
      if (controllers !== "") {
        writeFileSync(
          join(hierarchy.dir, "cgroup.subtree_control"),
          controllers
            .split(" ")
            .map((c) => `+${c}`)
            .join(" "),
        )
      }
    }
    mkdirCgroup(hierarchy, nodeCgroup(id))
    mkdirCgroup(hierarchy, join(nodeCgroup(id), "system"))
  }
}

/** The shell lines that move the current shell (`$$`) into the node's `system` group in every hierarchy. */
export const joinSystemCgroupScript = (id: string): string =>
  hierarchies()
    .map((h) => `echo $$ > ${join(h.dir, nodeCgroup(id), "system", "cgroup.procs")}`)
    .join("\n")

const subtree = (dir: string): string[] => {
  const out: string[] = []
  const walk = (d: string) => {
    let entries: string[]
    try {
      entries = readdirSync(d, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
    } catch {
      return
    }
    for (const name of entries) walk(join(d, name))
    out.push(d)
  }
  walk(dir)
  return out // children before parents
}

/** Every PID in a node's subtree (from the first hierarchy that has the group). */
export const nodePids = (id: string): ReadonlyArray<number> => {
  const pids = new Set<number>()
  for (const h of hierarchies()) {
    for (const dir of subtree(join(h.dir, nodeCgroup(id)))) {
      try {
        for (const line of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")) {
          const pid = Number(line)
          if (pid > 0) pids.add(pid)
        }
      } catch {}
    }
  }
  return [...pids]
}

/** The node's group directories that still exist, in any hierarchy. */
export const remainingCgroups = (id: string): ReadonlyArray<string> =>
  hierarchies()
    .map((h) => join(h.dir, nodeCgroup(id)))
    .filter((dir) => existsSync(dir))

/** Removes the node's subtree in every hierarchy, children first; returns the directories that would not go. */
export const removeNodeCgroups = (id: string): ReadonlyArray<string> => {
  const stuck: string[] = []
  for (const h of hierarchies()) {
    for (const dir of subtree(join(h.dir, nodeCgroup(id)))) {
      try {
        rmdirSync(dir)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") stuck.push(dir)
      }
    }
  }
  return stuck
}

/** The ids of node subtrees present on this machine (`/cartographer-node-<id>`), from any hierarchy. */
export const nodeCgroupIds = (): ReadonlyArray<string> => {
  const ids = new Set<string>()
  for (const h of hierarchies()) {
    for (const name of readdirSafe(h.dir)) {
      const match = /^cartographer-node-([0-9a-f]+)$/u.exec(name)
      if (match?.[1]) ids.add(match[1])
    }
  }
  return [...ids]
}

const readdirSafe = (dir: string): string[] => {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}
