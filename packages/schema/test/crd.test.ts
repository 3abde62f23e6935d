import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"
import { toStructural, workspaceCrd, workspaceJsonSchema } from "../src/crd.js"

type Node = { [key: string]: unknown }
const repo = join(import.meta.dirname, "..", "..", "..")

/** Every node of a schema with its path. */
const walk = (node: Node, path: string, visit: (node: Node, path: string) => void): void => {
  visit(node, path)
  for (const [key, child] of Object.entries((node.properties as Node | undefined) ?? {}))
    walk(child as Node, `${path}.${key}`, visit)
  if (node.items !== undefined) walk(node.items as Node, `${path}[]`, visit)
  if (typeof node.additionalProperties === "object") walk(node.additionalProperties as Node, `${path}.*`, visit)
}

const openApi = () => ((workspaceCrd().spec as Node).versions as Array<Node>)[0]?.schema as { openAPIV3Schema: Node }

describe("the generated Workspace CRD", () => {
  it("is the checked-in install/crd file (regenerate with npm run generate)", () => {
    const file = parse(readFileSync(join(repo, "install/crd/workspaces.mlops.aigency.com.yaml"), "utf8"))
    expect(file).toEqual(workspaceCrd())
  })

  it("fits in the last-applied annotation client-side `kubectl apply -k install` writes (256 KiB), with room", () => {
    // The annotation holds the object as compact JSON, written by Go, which escapes <, > and & as \u003c and so on;
    // the API server refuses annotations above 262144 bytes in all.
    const size = Buffer.byteLength(JSON.stringify(workspaceCrd()).replace(/[<>&]/gu, "\\u0000"))
    expect(size).toBeLessThan(240 * 1024)
  })

  it("matches its snapshot", () => {
    expect(workspaceCrd()).toMatchSnapshot()
  })

  it("is structural: every node has a type, no $ref, no null unions, nothing but validations inside allOf", () => {
    walk(openApi().openAPIV3Schema, "$", (node, path) => {
      expect(node.type ?? node["x-kubernetes-int-or-string"], `${path} has a type`).toBeDefined()
      expect(node.$ref, path).toBeUndefined()
      expect(node.const, path).toBeUndefined()
      expect(node.uniqueItems, path).toBeUndefined()
      if (node.properties !== undefined) expect(node.additionalProperties, path).toBeUndefined()
      for (const entry of (node.allOf as Array<Node> | undefined) ?? []) {
        for (const key of ["type", "description", "default", "nullable", "additionalProperties"]) {
          expect(entry[key], `${path}.allOf has no ${key}`).toBeUndefined()
        }
      }
      if (node.anyOf !== undefined) expect(node["x-kubernetes-int-or-string"], path).toBe(true)
    })
  })

  it("bounds every integer as the Schema does: quantities at 0 and every integer within the safe range", () => {
    let quantities = 0
    walk(openApi().openAPIV3Schema, "$", (node, path) => {
      if (node["x-kubernetes-int-or-string"] === true) {
        quantities++
        expect({ path, minimum: node.minimum, maximum: node.maximum }).toEqual({
          path,
          minimum: 0,
          maximum: Number.MAX_SAFE_INTEGER,
        })
      }
      if (node.type === "integer") {
        expect(node.maximum, `${path} has a maximum`).toEqual(expect.any(Number))
        expect(node.maximum as number, path).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER)
        expect(node.minimum, `${path} has a minimum`).toEqual(expect.any(Number))
        expect(node.minimum as number, path).toBeGreaterThanOrEqual(-Number.MAX_SAFE_INTEGER)
      }
    })
    expect(quantities).toBeGreaterThan(0)
  })

  it("describes every field of spec and status", () => {
    const root = openApi().openAPIV3Schema
    for (const part of ["spec", "status"]) {
      walk((root.properties as Node)[part] as Node, part, (node, path) => {
        if (path.endsWith(".*") || path.endsWith("[]")) return
        expect(node.description, `${path} has a description`).toEqual(expect.any(String))
      })
    }
  })

  it("keys pools and conditions so the API server refuses duplicates and SSA merges per item", () => {
    const root = openApi().openAPIV3Schema as Node
    const spec = (root.properties as Node).spec as Node
    const pools = (((spec.properties as Node).workflows as Node).properties as Node).agentPools as Node
    expect(pools["x-kubernetes-list-type"]).toBe("map")
    expect(pools["x-kubernetes-list-map-keys"]).toEqual(["name"])
    const status = (root.properties as Node).status as Node
    expect(((status.properties as Node).conditions as Node)["x-kubernetes-list-map-keys"]).toEqual(["type"])
  })

  it("has the status subresource, the short name ws and the printer columns", () => {
    const spec = workspaceCrd().spec as Node
    expect((spec.names as Node).shortNames).toEqual(["ws"])
    const version = (spec.versions as Array<Node>)[0] as Node
    expect(version.subresources).toEqual({ status: {} })
    expect((version.additionalPrinterColumns as Array<Node>).map((c) => c.name)).toEqual([
      "Ready",
      "Reason",
      "Server",
      "Pools",
      "Age",
    ])
  })
})

describe("the structural lowering", () => {
  it("refuses constructs Kubernetes cannot express instead of dropping them", () => {
    expect(() => toStructural({ type: "object", $ref: "#/x" })).toThrow(/\$ref/)
    expect(() => toStructural({ anyOf: [{ type: "string" }, { type: "boolean" }] })).toThrow(/union/)
    expect(() => toStructural({ type: "object", additionalProperties: false })).toThrow(/additionalProperties/)
    expect(() => toStructural({ description: "x" })).toThrow(/type/)
  })

  it("keeps both sides' constraints on an int-or-string node", () => {
    expect(
      toStructural({
        anyOf: [
          { type: "string", pattern: "^[0-9]+$" },
          { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
        ],
      }),
    ).toEqual({
      anyOf: [{ type: "integer" }, { type: "string" }],
      "x-kubernetes-int-or-string": true,
      pattern: "^[0-9]+$",
      minimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
    })
    expect(() => toStructural({ anyOf: [{ type: "string" }, { type: "integer", minLength: 1 }] } as never)).toThrow(
      /int-or-string/,
    )
  })

  it("turns a nullable union into nullable and const into enum", () => {
    expect(toStructural({ anyOf: [{ type: "string" }, { type: "null" }] })).toEqual({ type: "string", nullable: true })
    expect(toStructural({ type: "string", const: "a" })).toEqual({ type: "string", enum: ["a"] })
  })
})

describe("the editor JSON Schema", () => {
  it("is the checked-in packages/schema/workspace.schema.json", () => {
    expect(JSON.parse(readFileSync(join(repo, "packages/schema/workspace.schema.json"), "utf8"))).toEqual(
      workspaceJsonSchema(),
    )
  })

  it("is draft-07 and pins apiVersion and kind", () => {
    const schema = workspaceJsonSchema() as Node
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#")
    expect(((schema.properties as Node).kind as Node).enum).toEqual(["Workspace"])
  })
})
