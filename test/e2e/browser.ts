// A real browser on a page: Debian's Chromium, headless, run once to render the page's DOM after its scripts ran
// and once for a screenshot. `localhost` can be pointed at another loopback address, so that a UI configured for
// `kubectl port-forward … 4200:4200` (API at http://localhost:4200/api) works against a forward on another address.
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"

const run = promisify(execFile)

export const chromiumPath = () =>
  [process.env.CARTOGRAPHER_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find(
    (p): p is string => p !== undefined && p !== "" && existsSync(p),
  )

/** How every test runs Chromium: headless, no sandbox (tests run as root), a profile of its own, a laptop's window. */
export const headlessChromium = (profile: string): ReadonlyArray<string> => [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--no-first-run",
  "--hide-scrollbars",
  `--user-data-dir=${profile}`,
  "--window-size=1440,900",
]

/**
 * Removes a Chromium profile. The browser's helper processes (renderer, network service) outlive its main process by
 * a moment and may still write there, so a removal racing them meets ENOTEMPTY: fs.rm retries that, with backoff.
 */
export const removeProfile = (profile: string): Promise<void> =>
  rm(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 })

export interface PageCapture {
  readonly dom: string
  readonly screenshot: string
}

/**
 * Loads `url` until its rendered DOM satisfies `rendered` (at most `attempts` loads, each given more time: on a
 * busy machine the first may end before the page's API calls have answered), then takes the screenshot.
 */
export const capturePage = async (
  url: string,
  options: {
    readonly screenshot: string
    readonly rendered: (dom: string) => boolean
    readonly localhostIs?: string
    readonly attempts?: number
  },
): Promise<PageCapture> => {
  const chromium = chromiumPath()
  if (!chromium) throw new Error("Chromium is not installed (Debian: apt-get install chromium)")
  const profile = await mkdtemp(join(tmpdir(), "cartographer-chromium-"))
  const common = (waitMs: number) => [
    ...headlessChromium(profile),
    // The page's timers run on virtual time: the SPA's requests and rendering settle before the capture.
    `--virtual-time-budget=${waitMs}`,
    ...(options.localhostIs ? [`--host-resolver-rules=MAP localhost ${options.localhostIs}`] : []),
  ]
  try {
    let dom = ""
    let waitMs = 20_000
    for (let attempt = 1; attempt <= (options.attempts ?? 4); attempt++) {
      dom = (
        await run(chromium, [...common(waitMs), "--dump-dom", url], { maxBuffer: 64 * 1024 * 1024, timeout: 180_000 })
      ).stdout
      if (options.rendered(dom)) break
      waitMs *= 2
    }
    await run(chromium, [...common(waitMs), `--screenshot=${options.screenshot}`, url], { timeout: 180_000 })
    return { dom, screenshot: options.screenshot }
  } finally {
    await removeProfile(profile)
  }
}
