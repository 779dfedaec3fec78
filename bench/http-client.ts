// The benchmarks' HTTP client: plain keep-alive requests. fetch (undici) costs the client
// process more CPU per request than a node spends on a noop job, which would make a
// benchmark measure the client.
import http from 'node:http'

export const agent = new http.Agent({ keepAlive: true, maxSockets: 128 })

export const wallNowMs = () => performance.timeOrigin + performance.now()

export function request(
  apiUrl: string,
  method: string,
  p: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  const url = new URL(apiUrl)
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: p,
        method,
        headers: body
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}
