// The CRD on what a Workspace says about its components' pods: the API server (server-side dry-run create, strict
// field validation) refuses every document the Schema refuses, naming a path, and accepts and decodes alike every
// document it accepts. The fuzz suite samples these rules at random; this checks each of them.
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { parseDocuments } from "@cartographer/schema"
import { badPodFields, goodPodFields } from "@cartographer/schema/testing"
import { sharedControlPlane, useNamespace } from "@cartographer/test/harness"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RawApi, rawApi } from "../bench/support/rawApi.js"
import type { Json } from "./fuzz/documents.js"
import { compare, schemaVerdict, serverRejectionHasPath, serverVerdict } from "./fuzz/verdicts.js"

const namespace = useNamespace("pod-field-rules")
let api: RawApi

beforeAll(async () => {
  api = await rawApi(sharedControlPlane().kubeConfig, { maxSockets: 4 })
})
afterAll(() => api?.close())

describe("the CRD and the Schema on pod fields", () => {
  for (const [what, document, path] of badPodFields) {
    it(`the API server refuses ${what}, as the Schema does`, async () => {
      const server = await serverVerdict(api, namespace, document as Json)
      expect("accepted" in server && !server.accepted, JSON.stringify(server)).toBe(true)
      if ("accepted" in server && !server.accepted) {
        expect(serverRejectionHasPath(server), server.message).toBe(true)
        // The API server names the field, or the list or object a rule across its items or fields sits on.
        const fields = server.causes.map((c) => c.field ?? "").filter((f) => f !== "")
        // Strict field validation names an unknown field in its message only.
        const named = fields.length === 0 ? server.message.includes(path) : fields.some((f) => path.startsWith(f))
        expect(named, `${fields.join(", ") || server.message} vs ${path}`).toBe(true)
      }
      expect(compare(schemaVerdict(document), server)).toBeUndefined()
    })
  }
  for (const [what, document] of goodPodFields) {
    it(`the API server accepts ${what}, and it decodes as the Schema decodes it`, async () => {
      const server = await serverVerdict(api, namespace, document as Json)
      expect("accepted" in server && server.accepted, JSON.stringify(server)).toBe(true)
      expect(compare(schemaVerdict(document), server)).toBeUndefined()
    })
  }
})

const samplesDir = fileURLToPath(new URL("../../samples/", import.meta.url))

describe("the samples", () => {
  for (const file of readdirSync(samplesDir).filter((f) => f.endsWith(".yaml"))) {
    it(`the API server accepts every Workspace of samples/${file}, and it decodes as the Schema decodes it`, async () => {
      const workspaces = parseDocuments(readFileSync(`${samplesDir}${file}`, "utf8"))
        .map((d) => d.value as Json)
        .filter((d) => (d as { kind?: unknown } | null)?.kind === "Workspace")
      expect(workspaces.length).toBeGreaterThan(0)
      for (const document of workspaces) {
        const server = await serverVerdict(api, namespace, document)
        expect("accepted" in server && server.accepted, JSON.stringify(server)).toBe(true)
        expect(compare(schemaVerdict(document), server)).toBeUndefined()
      }
    })
  }
})
