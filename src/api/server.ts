// The node's REST API: a Koa app and the job-log WebSocket sharing one http.Server.
// Wire behaviour follows Bacalhau's echo server (reference bacalhau-api.md §0–§1).
import { randomUUID } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import Router from '@koa/router'
import Koa from 'koa'
import type { NodeInfo } from '../models/node.js'
import type { OrchestratorApi } from '../orchestrator/service.js'
import type { Logger } from '../util/logger.js'
import { checkClientVersion } from './client-version.js'
import { LogStreams } from './logs.js'
import { Query } from './request.js'
import {
  apiServerError,
  encodeJson,
  JSON_CONTENT_TYPE,
  renderError,
  routeNotFound,
  sendJson,
  serverHeaders,
  wantsPretty,
} from './respond.js'
import { registerAgentRoutes } from './routes/agent.js'
import { JOBS_BASE, registerOrchestratorRoutes } from './routes/orchestrator.js'
import { registerIpfsRoutes, type IpfsApi } from './routes/ipfs.js'

export interface AgentApi {
  nodeInfo(): NodeInfo
  /** Effective configuration; the API masks values under Token/Password/APIKey-like keys. */
  config(): unknown
  debug?(): unknown
}

export interface ApiServerOptions {
  host: string
  port: number
  agent: AgentApi
  /** When set, /api/v1/orchestrator/* (and the legacy /api/v1/requester/* 410s) are served. */
  orchestrator?: OrchestratorApi
  logger: Logger
  /** Accepted for forward compatibility; the web UI is not served yet. */
  webuiDir?: string
  /** Per-request handler timeout (Bacalhau: 30 s, answered with 503 "Server Timeout!"). */
  handlerTimeoutMs?: number
  /** When set, /api/v1/ipfs/* reach the node's embedded IPFS node. */
  ipfs?: IpfsApi
}

const DEFAULT_HANDLER_TIMEOUT_MS = 30_000
const logsPathPattern = new RegExp(`^${JOBS_BASE}/([^/]+)/logs/?$`)
const CORS_ALLOW_METHODS = 'GET,HEAD,PUT,PATCH,POST,DELETE'

function requestIdOf(header: string | string[] | undefined): string {
  return (Array.isArray(header) ? header[0] : header) ?? ''
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** Answers an upgrade request with a plain HTTP response and closes the socket. */
function rejectUpgrade(
  socket: Duplex,
  status: number,
  body: unknown,
  extraHeaders: Record<string, string>,
): void {
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const text = encodeJson(body)
  const headers = {
    ...extraHeaders,
    Connection: 'close',
    'Content-Type': JSON_CONTENT_TYPE,
    'Content-Length': String(Buffer.byteLength(text)),
  }
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')
  socket.once('finish', () => socket.destroy())
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\n${head}\r\n${text}`)
}

export class ApiServer {
  private readonly log: Logger
  private readonly router = new Router()
  private readonly app = new Koa()
  private readonly server: http.Server
  private readonly logs?: LogStreams
  private readonly upgrading = new Set<Duplex>()

  constructor(private readonly opts: ApiServerOptions) {
    this.log = opts.logger.child({ component: 'api' })
    registerAgentRoutes(this.router, opts.agent)
    if (opts.ipfs) registerIpfsRoutes(this.router, opts.ipfs)
    const redirect = (to: string) => (ctx: Koa.Context) => {
      ctx.body = null
      ctx.status = 301
      ctx.set('Location', to)
    }
    this.router.get('/', redirect('/api/v1/agent/version'))
    this.router.get('/version', redirect('/api/v1/agent/version'))
    this.router.get('/livez', redirect('/api/v1/agent/alive'))
    if (opts.orchestrator) {
      registerOrchestratorRoutes(this.router, opts.orchestrator)
      this.logs = new LogStreams(opts.orchestrator, this.log, (req) => this.upgradeHeaders(req))
    }
    this.buildApp(opts.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS)
    this.server = http.createServer(this.app.callback())
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head))
  }

  private buildApp(handlerTimeoutMs: number): void {
    const { app, router, log } = this
    // Errors are rendered by the first middleware; this only sees failures while writing.
    app.on('error', (err) => log.debug({ err }, 'response error'))

    app.use(async (ctx, next) => {
      const started = performance.now()
      const incomingId = ctx.get('X-Request-ID')
      ctx.set(serverHeaders())
      ctx.set('X-Request-Id', incomingId || randomUUID())
      ctx.set('Access-Control-Allow-Origin', '*')
      try {
        await next()
      } catch (err) {
        const { body, internal } = renderError(err, incomingId)
        if (internal) log.error({ err, method: ctx.method, url: ctx.url }, 'unhandled error in API handler')
        else log.debug({ err: body, method: ctx.method, url: ctx.url }, 'API error')
        const status =
          Number.isInteger(body.Status) && body.Status >= 400 && body.Status <= 599 ? body.Status : 500
        body.Status = status
        if (ctx.method === 'HEAD') {
          ctx.body = null
          ctx.status = status
        } else {
          sendJson(ctx, status, body)
        }
      }
      log.debug(
        { method: ctx.method, url: ctx.url, status: ctx.status, ms: performance.now() - started },
        'request',
      )
    })

    // CORS preflight: any origin, as Bacalhau's AllowOrigins ["*"].
    app.use(async (ctx, next) => {
      if (ctx.method !== 'OPTIONS') return next()
      ctx.set('Access-Control-Allow-Methods', CORS_ALLOW_METHODS)
      const requested = ctx.get('Access-Control-Request-Headers')
      if (requested) ctx.set('Access-Control-Allow-Headers', requested)
      ctx.vary('Origin')
      ctx.vary('Access-Control-Request-Method')
      ctx.vary('Access-Control-Request-Headers')
      ctx.body = null
      ctx.status = 204
    })

    app.use(async (ctx, next) => {
      const rejection = checkClientVersion(ctx.get('X-Bacalhau-Git-Version') || undefined)
      if (!rejection) return next()
      ctx.status = rejection.status
      ctx.set('Content-Type', JSON_CONTENT_TYPE)
      ctx.body = encodeJson(rejection.body, { pretty: wantsPretty(ctx) })
    })

    app.use(async (ctx, next) => {
      const work = next()
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<true>((resolve) => {
        timer = setTimeout(() => resolve(true), handlerTimeoutMs)
        // A handler that never settles must not keep the process alive after stop().
        timer.unref()
      })
      try {
        if ((await Promise.race([work.then(() => false), timedOut])) === true) {
          work.catch((err) => log.warn({ err, url: ctx.url }, 'request failed after its timeout'))
          ctx.status = 503
          ctx.set('Content-Type', 'text/plain; charset=utf-8')
          ctx.body = 'Server Timeout!'
        }
      } finally {
        clearTimeout(timer)
      }
    })

    app.use(router.routes())

    // Nothing matched: 405 when the path exists under another method, else 404.
    app.use(async (ctx) => {
      const match = router.match(ctx.path, ctx.method)
      if (match.path.length > 0) {
        const allowed = new Set(match.path.flatMap((layer) => layer.methods))
        ctx.set('Allow', [...allowed].join(', '))
        throw apiServerError(405, 'Method Not Allowed')
      }
      throw routeNotFound()
    })
  }

  private upgradeHeaders(req: http.IncomingMessage): Record<string, string> {
    return {
      ...serverHeaders(),
      'X-Request-Id': requestIdOf(req.headers['x-request-id']) || randomUUID(),
      'Access-Control-Allow-Origin': '*',
    }
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    // A reset during the handshake must not become an unhandled 'error' event.
    socket.on('error', (err) => this.log.debug({ err }, 'upgrade socket error'))
    this.upgrading.add(socket)
    socket.once('close', () => this.upgrading.delete(socket))
    const requestId = requestIdOf(req.headers['x-request-id'])
    const reject = (status: number, body: unknown) =>
      rejectUpgrade(socket, status, body, this.upgradeHeaders(req))
    try {
      const url = new URL(req.url ?? '/', 'http://localhost')
      const m = logsPathPattern.exec(url.pathname)
      if (!m || !this.logs) return reject(404, renderError(routeNotFound(), requestId).body)
      const versionHeader = req.headers['x-bacalhau-git-version']
      const rejection = checkClientVersion(
        Array.isArray(versionHeader) ? versionHeader.join(', ') : versionHeader,
      )
      if (rejection) return reject(rejection.status, rejection.body)
      const q = new Query(url.search.slice(1))
      const query = {
        namespace: q.string('namespace'),
        executionId: q.string('execution_id'),
        tail: q.bool('tail') ?? false,
        follow: q.bool('follow') ?? false,
      }
      this.logs.upgrade(req, socket, head, safeDecode(m[1]), query)
    } catch (err) {
      const { body, internal } = renderError(err, requestId)
      if (internal) this.log.error({ err, url: req.url }, 'unhandled error in WebSocket upgrade')
      reject(body.Status, body)
    }
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err)
      this.server.once('error', onError)
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', onError)
        this.server.on('error', (err) => this.log.error({ err }, 'API server error'))
        this.log.info({ url: this.url() }, 'API server listening')
        resolve()
      })
    })
  }

  async stop(): Promise<void> {
    this.logs?.close()
    for (const socket of this.upgrading) socket.destroy()
    if (!this.server.listening) return
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }

  port(): number {
    const addr = this.server.address() as AddressInfo | null
    return addr ? addr.port : this.opts.port
  }

  url(): string {
    const host = this.opts.host
    const shown = host === '' || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
    return `http://${shown.includes(':') ? `[${shown}]` : shown}:${this.port()}`
  }
}
