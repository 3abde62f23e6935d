/** The server's ports, named on its container and Service (`http-orion`; `http-metrics` when metrics are on). */
export const serverPort = 4200
export const serverPortName = "http-orion"
/** A Service port of its own for scrapers; it leads to the server's port, where Prefect serves `<api>/metrics`. */
export const metricsPort = 9090
export const metricsPortName = "http-metrics"
