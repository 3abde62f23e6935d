// Loopback addresses that stand in for pod IPs and Service IPs. Linux routes all of 127.0.0.0/8 to the loopback
// interface, so every pod gets an address of its own and keeps its container ports (two Postgres pods both listen
// on 5432, as in a cluster), and every Service gets one where the runner's proxy listens on the Service's ports.
//
// One runner takes 127.A.0.0/16 with A picked at random, so that runners of concurrent test runs rarely meet:
// pods in 127.A.0-127.x, Services in 127.A.128-255.x.

export interface Addresses {
  /** The second octet this runner owns. */
  readonly octet: number
  /** The pod's address (stable for the pod's lifetime). */
  podIp(podUid: string): string
  releasePod(podUid: string): void
  /** The Service's address (stable for the runner's lifetime, allocated on first use). */
  serviceIp(namespace: string, name: string): string
}

const ipOf = (octet: number, index: number, base: number) =>
  `127.${octet}.${base + Math.floor(index / 254)}.${(index % 254) + 1}`

export const makeAddresses = (octet = 16 + Math.floor(Math.random() * 234)): Addresses => {
  const pods = new Map<string, number>()
  const freePods: Array<number> = []
  let nextPod = 0
  const services = new Map<string, number>()
  return {
    octet,
    podIp: (uid) => {
      let index = pods.get(uid)
      if (index === undefined) {
        index = freePods.shift() ?? nextPod++
        if (index >= 128 * 254) throw new Error("the pod runner ran out of loopback addresses")
        pods.set(uid, index)
      }
      return ipOf(octet, index, 0)
    },
    releasePod: (uid) => {
      const index = pods.get(uid)
      if (index === undefined) return
      pods.delete(uid)
      // Reused last, so that a connection to a dead pod's address is refused rather than reaching a new pod.
      freePods.push(index)
    },
    serviceIp: (namespace, name) => {
      const key = `${namespace}/${name}`
      let index = services.get(key)
      if (index === undefined) {
        index = services.size
        if (index >= 128 * 254) throw new Error("the pod runner ran out of loopback Service addresses")
        services.set(key, index)
      }
      return ipOf(octet, index, 128)
    },
  }
}
