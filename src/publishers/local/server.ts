// The local publisher's download server: plain HTTP, no auth, like Bacalhau's
// (bacalhau-behaviour.md §5). It serves only regular files directly inside one directory;
// no listings, no subdirectories, no symlinks, no dot-files (in-progress archives).
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { logger } from '../../util/logger.js'

export interface FileServerOptions {
  /** Listen host, also used verbatim in URLs. */
  address: string
  /** 0 picks a free port. */
  port: number
  dir: string
}

export class FileServer {
  private server: http.Server | undefined
  private starting: Promise<void> | undefined
  private readonly log = logger().child({ component: 'local-publisher' })

  constructor(private readonly opts: FileServerOptions) {}

  get listening(): boolean {
    return this.server?.listening ?? false
  }

  /** The port actually bound, or the configured one before start(). */
  get port(): number {
    const addr = this.server?.address()
    return addr && typeof addr === 'object' ? (addr as AddressInfo).port : this.opts.port
  }

  /** Base URL, no trailing slash. Needs start() first when the configured port is 0. */
  url(): string {
    const port = this.port
    if (port === 0) throw new Error('local publisher: server not started, port not yet chosen')
    const host = this.opts.address.includes(':') ? `[${this.opts.address}]` : this.opts.address
    return `http://${host}:${port}`
  }

  /** Idempotent; concurrent callers share the same start. */
  start(): Promise<void> {
    this.starting ??= this.listen().catch((err) => {
      this.starting = undefined
      throw err
    })
    return this.starting
  }

  private async listen(): Promise<void> {
    await fs.promises.mkdir(this.opts.dir, { recursive: true })
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        this.log.warn({ err, url: req.url }, 'local publisher: request failed')
        if (!res.headersSent) send(res, 500, 'internal error')
        else res.destroy()
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.opts.port, this.opts.address, () => {
        server.off('error', reject)
        resolve()
      })
    }).catch((err: Error) => {
      throw new Error(
        `local publisher: cannot listen on ${this.opts.address}:${this.opts.port}: ${err.message}`,
        {
          cause: err,
        },
      )
    })
    server.on('error', (err) => this.log.error({ err }, 'local publisher: server error'))
    this.server = server
    this.log.info({ url: this.url(), dir: this.opts.dir }, 'local publisher: serving results')
  }

  async stop(): Promise<void> {
    // A start still in flight would otherwise bind after stop() returned.
    await this.starting?.catch(() => undefined)
    const server = this.server
    this.server = undefined
    this.starting = undefined
    if (!server) return
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    // close() alone waits for keep-alive sockets and running downloads to finish.
    server.closeAllConnections()
    await closed
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD')
      send(res, 405, 'method not allowed')
      return
    }
    const name = fileNameFromUrl(req.url ?? '')
    if (name === undefined) {
      send(res, 404, 'not found')
      return
    }
    let fh: fs.promises.FileHandle
    try {
      fh = await fs.promises.open(
        path.join(this.opts.dir, name),
        fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW,
      )
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR' || code === 'EISDIR') {
        send(res, 404, 'not found')
        return
      }
      throw err
    }
    try {
      const st = await fh.stat()
      if (!st.isFile()) {
        send(res, 404, 'not found')
        return
      }
      res.writeHead(200, {
        'Content-Type': contentType(name),
        'Content-Length': String(st.size),
        'Last-Modified': st.mtime.toUTCString(),
      })
      if (req.method === 'HEAD' || st.size === 0) {
        res.end()
        return
      }
      // Capped at the stat'ed size so the body always matches Content-Length.
      const stream = fh.createReadStream({ start: 0, end: st.size - 1, autoClose: false })
      await pipeline(stream, res).catch((err: NodeJS.ErrnoException) => {
        // A client that goes away mid-download is not a server error.
        if (err.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw err
      })
    } finally {
      await fh.close()
    }
  }
}

/** The single path segment a URL names, or undefined for anything else. */
export function fileNameFromUrl(rawUrl: string): string | undefined {
  const pathname = rawUrl.split(/[?#]/, 1)[0] ?? ''
  if (!pathname.startsWith('/')) return undefined
  let name: string
  try {
    name = decodeURIComponent(pathname.slice(1))
  } catch {
    return undefined
  }
  if (name === '' || name.startsWith('.') || /[/\\\0]/.test(name)) return undefined
  return name
}

function contentType(name: string): string {
  if (name.endsWith('.tar.gz') || name.endsWith('.tgz') || name.endsWith('.gz')) return 'application/gzip'
  return 'application/octet-stream'
}

function send(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  })
  res.end(text)
}
