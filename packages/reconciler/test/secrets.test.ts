import { describe, expect, it } from "vitest"
import { plan } from "../src/plan/planner.js"
import { decodeBase64, encodeBase64 } from "../src/plan/secrets.js"
import { container, envOf, find, has, inputs, nothing, ws } from "./fixtures.js"

const decoded = (data: Readonly<Record<string, string>>) =>
  Object.fromEntries(Object.entries(data).map(([k, v]) => [k, decodeBase64(v)]))

describe("database Secret", () => {
  it("is created with the generated password, URL-encoded in the asyncpg URL, under current and original keys", () => {
    const secret = find(plan(ws(), nothing), "Secret", "test-environment-environment-secrets")
    const url = "postgresql+asyncpg://postgres:s3cr3t%2Fp%40ss%3Aword@test-environment-orion-database:5432/orion"
    expect(decoded(secret.data)).toEqual({
      username: "postgres",
      password: inputs.generatedPassword,
      database: "orion",
      "connection-url": url,
      orionDatabasePassword: inputs.generatedPassword,
      orionDatabaseConnectionUrl: url,
    })
    expect(secret.type).toBe("Opaque")
  })

  it("keeps an observed Secret's values byte for byte and never uses a newly generated password", () => {
    const observedData = {
      username: encodeBase64("postgres"),
      password: encodeBase64("original"),
      database: encodeBase64("orion"),
      "connection-url": encodeBase64("postgresql+asyncpg://postgres:original@elsewhere:5432/orion"),
      orionDatabasePassword: encodeBase64("original"),
      orionDatabaseConnectionUrl: encodeBase64("anything the original wrote"),
    }
    const secret = find(
      plan(ws(), { ...nothing, secret: { data: observedData } }),
      "Secret",
      "test-environment-environment-secrets",
    )
    expect(secret.data).toEqual(observedData)
  })

  it("derives the keys missing from a Secret of the original Cartographer from its password, not a new one", () => {
    const legacy = {
      orionDatabasePassword: encodeBase64("0d6f1e0c-guid"),
      orionDatabaseConnectionUrl: encodeBase64(
        "postgresql+asyncpg://postgres:0d6f1e0c-guid@test-environment-orion-database:5432/orion",
      ),
    }
    const secret = find(
      plan(ws(), { ...nothing, secret: { data: legacy } }),
      "Secret",
      "test-environment-environment-secrets",
    )
    expect(decoded(secret.data)).toMatchObject({
      password: "0d6f1e0c-guid",
      "connection-url": "postgresql+asyncpg://postgres:0d6f1e0c-guid@test-environment-orion-database:5432/orion",
    })
    expect(secret.data.orionDatabaseConnectionUrl).toBe(legacy.orionDatabaseConnectionUrl)
  })

  it("prefers the current password key over the original one when both exist", () => {
    const data = { password: encodeBase64("current"), orionDatabasePassword: encodeBase64("legacy") }
    const secret = find(plan(ws(), { ...nothing, secret: { data } }), "Secret", "test-environment-environment-secrets")
    expect(decodeBase64(secret.data["connection-url"] ?? "")).toContain(":current@")
  })

  it("is not created for an external database, whose URL the server reads from the user's Secret", () => {
    const external = ws({ database: { external: { secretRef: { name: "prefect-db" } } } })
    const p = plan(external, nothing)
    expect(has(p, "Secret", "test-environment-environment-secrets")).toBe(false)
    expect(envOf(container(find(p, "Deployment", "test-environment-orion-server")))).toMatchObject({
      PREFECT_SERVER_DATABASE_CONNECTION_URL: { secretKeyRef: { name: "prefect-db", key: "connection-url" } },
    })
  })

  it("round-trips non-ASCII passwords through base64 as UTF-8", () => {
    expect(decodeBase64(encodeBase64("pässwörd ✓"))).toBe("pässwörd ✓")
    expect(decodeBase64("not base64!")).toBeUndefined()
  })
})
