// Machine-wide locks between test runs (several vitest runs, or a run and `npm start`, may share a machine): a
// directory created by mkdir(2), which is atomic, holding its owner's PID; a lock whose owner died is broken.
import { mkdir, readFile, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

export interface Lock {
  release(): Promise<void>
}

/** Takes the lock at `path` if it is free (or its owner is dead); undefined if a live process holds it. */
export const tryLock = async (path: string): Promise<Lock | undefined> => {
  for (;;) {
    try {
      await mkdir(path)
      await writeFile(join(path, "pid"), String(process.pid))
      return { release: () => rm(path, { recursive: true, force: true }) }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
      // A holder that has not written its PID yet counts as alive.
      const holder = Number(await readFile(join(path, "pid"), "utf8").catch(() => "-1"))
      if (holder === -1 || (holder > 0 && alive(holder))) return undefined
      await rm(path, { recursive: true, force: true })
    }
  }
}

/** Waits (up to `timeoutMs`) for the lock at `path`. */
export const lock = async (path: string, timeoutMs = 60_000): Promise<Lock> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const held = await tryLock(path)
    if (held !== undefined) return held
    if (Date.now() > deadline) throw new Error(`${path} is still held by another process after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
