import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { readAudit } from "./audit.js"

const event = (verb: string, username: string, resource: string, time: string) =>
  JSON.stringify({
    kind: "Event",
    auditID: `${verb}-${username}-${time}`,
    stage: "ResponseComplete",
    verb,
    requestURI: `/api/v1/namespaces/a/${resource}`,
    user: { username },
    objectRef: { resource, namespace: "a", name: "x" },
    responseStatus: { code: 200 },
    requestReceivedTimestamp: time,
    stageTimestamp: time,
  })

describe("readAudit", () => {
  let dir = ""
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it("filters by user, mutation, resource and time, and skips a half-written last line", async () => {
    dir = await mkdtemp(join(tmpdir(), "audit-"))
    const path = join(dir, "audit.log")
    const lines = [
      event("create", "alice", "configmaps", "2026-01-01T00:00:00Z"),
      event("get", "alice", "configmaps", "2026-01-01T00:00:01Z"),
      event("patch", "bob", "secrets", "2026-01-01T00:00:02Z"),
      event("delete", "alice", "secrets", "2026-01-01T00:00:03Z"),
    ]
    await writeFile(path, `${lines.join("\n")}\n{"kind":"Event","verb":"cre`)
    expect((await readAudit(path)).length).toBe(4)
    expect((await readAudit(path, { user: "alice", mutating: true })).map((e) => e.verb)).toEqual(["create", "delete"])
    expect((await readAudit(path, { mutating: false })).map((e) => e.verb)).toEqual(["get"])
    expect(
      (await readAudit(path, { resource: "secrets", since: new Date("2026-01-01T00:00:03Z") })).map((e) => e.verb),
    ).toEqual(["delete"])
  })
})
