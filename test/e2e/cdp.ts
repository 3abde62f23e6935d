// A real browser driven step by step, for pages that need more than one load (a login, a reload with what it
// stored): Debian's Chromium, headless, spoken to over the Chrome DevTools Protocol with Node's own WebSocket. Every
// URL the page requests is recorded, so a test can tell where the UI sent its API calls.
import { mkdtemp, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { start } from "../harness/processes.js"
import { chromiumPath, headlessChromium, removeProfile } from "./browser.js"

export interface BrowserPage {
  /** Loads `url` and resolves once its load event fired. */
  readonly navigate: (url: string) => Promise<void>
  /** The value of a JavaScript expression in the page (awaited when it is a promise). */
  readonly evaluate: <A>(expression: string) => Promise<A>
  /** Resolves once `expression` is truthy in the page; fails with the page's text after `timeoutMs`. */
  readonly waitFor: (expression: string, timeoutMs?: number) => Promise<void>
  readonly screenshot: (path: string) => Promise<void>
  /** Every URL the page requested so far. */
  readonly requests: () => ReadonlyArray<string>
  readonly close: () => Promise<void>
}

interface Message {
  readonly id?: number
  readonly method?: string
  readonly params?: Record<string, unknown>
  readonly result?: Record<string, unknown>
  readonly error?: { readonly message: string }
}

/**
 * Starts Chromium with `hostResolverRules` (e.g. `MAP prefect.example.test 10.1.2.3:4200`: a host name the test has
 * no DNS for, at a pod's address) and opens one page.
 */
export const openPage = async (options: { readonly hostResolverRules?: string } = {}): Promise<BrowserPage> => {
  const chromium = chromiumPath()
  if (chromium === undefined) throw new Error("Chromium is not installed (Debian: apt-get install chromium)")
  const profile = await mkdtemp(join(tmpdir(), "cartographer-cdp-"))
  const browser = start(chromium, [
    ...headlessChromium(profile),
    "--remote-debugging-port=0",
    ...(options.hostResolverRules === undefined ? [] : [`--host-resolver-rules=${options.hostResolverRules}`]),
    "about:blank",
  ])
  browser.child.stdout?.resume()
  const close = async () => {
    await browser.kill()
    await removeProfile(profile)
  }
  try {
    const endpoint = await new Promise<string>((resolve, reject) => {
      let stderr = ""
      const timer = setTimeout(() => reject(new Error(`Chromium did not start:\n${stderr}`)), 60_000)
      browser.child.stderr?.setEncoding("utf8").on("data", (text: string) => {
        stderr += text
        const found = /DevTools listening on (ws:\/\/\S+)/u.exec(stderr)
        if (found?.[1] !== undefined) {
          clearTimeout(timer)
          resolve(found[1])
        }
      })
    })
    const { host } = new URL(endpoint)
    const targets = (await (await fetch(`http://${host}/json/list`)).json()) as ReadonlyArray<{
      readonly type: string
      readonly webSocketDebuggerUrl: string
    }>
    const target = targets.find((t) => t.type === "page")
    if (target === undefined) throw new Error("Chromium opened no page")
    const socket = new WebSocket(target.webSocketDebuggerUrl)
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true })
      socket.addEventListener("error", () => reject(new Error("cannot reach Chromium's DevTools")), { once: true })
    })
    let nextId = 1
    const pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>()
    const listeners = new Set<(m: Message) => void>()
    const requested: Array<string> = []
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data)) as Message
      if (message.id !== undefined) {
        const waiting = pending.get(message.id)
        pending.delete(message.id)
        if (message.error !== undefined) waiting?.reject(new Error(message.error.message))
        else waiting?.resolve(message)
      } else {
        if (message.method === "Network.requestWillBeSent")
          requested.push(String((message.params?.request as { url?: string } | undefined)?.url))
        for (const listener of listeners) listener(message)
      }
    })
    const send = (method: string, params: Record<string, unknown> = {}) =>
      new Promise<Message>((resolve, reject) => {
        const id = nextId++
        pending.set(id, { resolve, reject })
        socket.send(JSON.stringify({ id, method, params }))
      })
    await send("Page.enable")
    await send("Network.enable")
    await send("Runtime.enable")

    const evaluate = async <A>(expression: string): Promise<A> => {
      const answer = await send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true })
      const thrown = answer.result?.exceptionDetails as { text?: string } | undefined
      if (thrown !== undefined) throw new Error(`${expression}: ${thrown.text}`)
      return (answer.result?.result as { value?: A } | undefined)?.value as A
    }
    return {
      navigate: async (url) => {
        const loaded = new Promise<void>((resolve) => {
          const listener = (m: Message) => {
            if (m.method !== "Page.loadEventFired") return
            listeners.delete(listener)
            resolve()
          }
          listeners.add(listener)
        })
        await send("Page.navigate", { url })
        await loaded
      },
      evaluate,
      waitFor: async (expression, timeoutMs = 60_000) => {
        const deadline = Date.now() + timeoutMs
        while (!(await evaluate<boolean>(`Boolean(${expression})`))) {
          if (Date.now() > deadline) {
            const text = await evaluate<string>("document.body ? document.body.innerText : ''")
            throw new Error(`the page never satisfied ${expression}; it shows:\n${text.slice(0, 2000)}`)
          }
          await new Promise((resolve) => setTimeout(resolve, 500))
        }
      },
      screenshot: async (path) => {
        const shot = await send("Page.captureScreenshot", { format: "png" })
        await writeFile(path, Buffer.from(String(shot.result?.data), "base64"))
      },
      requests: () => [...requested],
      close: async () => {
        socket.close()
        await close()
      },
    }
  } catch (error) {
    await close()
    throw error
  }
}
