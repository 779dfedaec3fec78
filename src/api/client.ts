// REST client for Bacalhau's /api/v1 (bacalhau-api.md §1). Responses are parsed with
// parseJson so int64 nanosecond times stay exact. Errors carry the server's APIError
// fields; an unreachable server gives one line naming the URL.
import WebSocket from 'ws'
import type { Config } from '../config/types.js'
import type { Execution, JobHistory } from '../models/execution.js'
import type { Job, JobInput, SpecConfig } from '../models/job.js'
import { parseJson, stringifyJson } from '../models/json.js'
import type { BuildVersionInfo, NodeInfo, NodeState } from '../models/node.js'
import { buildVersionInfo } from '../models/version.js'
import type { Page, SubmitJobResponse } from '../orchestrator/service.js'

export interface LogEntry {
  /** 1 = stdout, 2 = stderr. */
  Type: number
  Line: string
}

export interface ApiErrorInit {
  status: number
  code?: string
  component?: string
  hint?: string
  details?: Record<string, string>
  requestId?: string
}

/** An error answer from the server, with Bacalhau's APIError fields. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly component: string
  readonly hint?: string
  readonly details?: Record<string, string>
  readonly requestId?: string
  constructor(message: string, init: ApiErrorInit) {
    super(message)
    this.name = 'ApiError'
    this.status = init.status
    this.code = init.code ?? ''
    this.component = init.component ?? ''
    this.hint = init.hint || undefined
    this.details = init.details
    this.requestId = init.requestId
  }
}

/** The server could not be reached at all. */
export class ApiConnectionError extends Error {
  readonly url: string
  constructor(message: string, url: string) {
    super(message)
    this.name = 'ApiConnectionError'
    this.url = url
  }
}

/**
 * The base URL for an API host/port pair. `0.0.0.0` (the listen-anywhere default) is
 * rewritten to loopback; a host may itself be an http(s) URL, whose port falls back
 * to `port`.
 */
export function apiBaseUrl(host: string, port: number, useTls = false): string {
  const h = host.trim()
  if (/^https?:\/\//i.test(h)) {
    let u: URL
    try {
      u = new URL(h)
    } catch {
      throw new Error(`invalid API host "${host}": not a valid URL`)
    }
    if ((u.pathname && u.pathname !== '/') || u.search || u.hash)
      throw new Error(`invalid API host "${host}": a URL must not have a path or query`)
    const explicitPort = /^https?:\/\/(\[[^\]]*\]|[^/:]*):\d+/i.test(h)
    const hostname = u.hostname === '0.0.0.0' ? '127.0.0.1' : u.hostname
    return `${u.protocol}//${hostname}:${explicitPort ? u.port || defaultPort(u.protocol) : port}`
  }
  let name = h === '' || h === '0.0.0.0' ? '127.0.0.1' : h === '::' || h === '[::]' ? '::1' : h
  if (name.includes(':') && !name.startsWith('[')) name = `[${name}]`
  return `${useTls ? 'https' : 'http'}://${name}:${port}`
}
const defaultPort = (protocol: string) => (protocol === 'https:' ? '443' : '80')

export interface ApiClientOptions {
  baseUrl: string
  /** Per-request timeout (default 30 s, the server's own handler limit). */
  timeoutMs?: number
  headers?: Record<string, string>
  /** Source of BACALHAU_API_KEY / BACALHAU_API_USERNAME / BACALHAU_API_PASSWORD. */
  env?: NodeJS.ProcessEnv
}

export interface ListJobsOptions {
  namespace?: string
  limit?: number
  nextToken?: string
  orderBy?: string
  reverse?: boolean
  /** Label selectors; repeated params are AND-ed by the server. */
  labels?: string[]
}
export interface GetJobOptions {
  namespace?: string
  include?: ('history' | 'executions')[]
  jobVersion?: number
}
export interface GetJobResponse {
  Job: Job
  History?: Page<JobHistory>
  Executions?: Page<Execution>
}
export interface HistoryOptions {
  namespace?: string
  limit?: number
  nextToken?: string
  since?: number
  eventType?: 'all' | 'job' | 'execution'
  executionId?: string
  jobVersion?: number
  allJobVersions?: boolean
}
export interface ExecutionsOptions {
  namespace?: string
  limit?: number
  orderBy?: string
  reverse?: boolean
  jobVersion?: number
  allJobVersions?: boolean
}
export interface LogsOptions {
  namespace?: string
  executionId?: string
  follow?: boolean
  tail?: boolean
  jobVersion?: number
}
export interface ListNodesOptions {
  limit?: number
  orderBy?: string
  reverse?: boolean
  labels?: string[]
  filterApproval?: string
  filterStatus?: string
}

type Query = Record<string, string | number | boolean | string[] | undefined>

function queryString(q: Query | undefined): string {
  if (!q) return ''
  const sp = new URLSearchParams()
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === '') continue
    if (Array.isArray(v)) for (const item of v) sp.append(k, item)
    else sp.append(k, String(v))
  }
  const s = sp.toString()
  return s ? `?${s}` : ''
}

function errnoOf(e: unknown): string | undefined {
  let cur: unknown = e
  for (let i = 0; i < 5 && cur && typeof cur === 'object'; i++) {
    const o = cur as { code?: unknown; cause?: unknown; errors?: unknown[] }
    if (typeof o.code === 'string' && /^E[A-Z]+$/.test(o.code)) return o.code
    if (Array.isArray(o.errors) && o.errors.length) cur = o.errors[0]
    else cur = o.cause
  }
  return undefined
}

function connectionError(baseUrl: string, e: unknown, timeoutMs: number): ApiConnectionError {
  const err = e as Error
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError')
    return new ApiConnectionError(
      `timed out after ${Math.round(timeoutMs / 100) / 10}s waiting for the Bacalhau API at ${baseUrl}`,
      baseUrl,
    )
  const code = errnoOf(e)
  const why =
    code === 'ECONNREFUSED'
      ? 'connection refused — is a node running? (bacalhau serve)'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'host not found'
        : code === 'ECONNRESET'
          ? 'connection reset by the server'
          : code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH'
            ? 'host unreachable'
            : ((err?.cause as Error | undefined)?.message ?? err?.message) || 'request failed'
  return new ApiConnectionError(`cannot reach the Bacalhau API at ${baseUrl}: ${why}`, baseUrl)
}

/** Turns an error response body into an ApiError carrying the server's message and hint. */
export function apiErrorFromBody(status: number, statusText: string, text: string): ApiError {
  let body: unknown
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    body = undefined
  }
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const b = body as Record<string, unknown>
    const message = typeof b.Message === 'string' ? b.Message : typeof b.Error === 'string' ? b.Error : ''
    if (message)
      return new ApiError(message, {
        status: typeof b.Status === 'number' ? b.Status : status,
        code: typeof b.Code === 'string' ? b.Code : undefined,
        component: typeof b.Component === 'string' ? b.Component : undefined,
        hint: typeof b.Hint === 'string' ? b.Hint : undefined,
        details:
          b.Details && typeof b.Details === 'object' ? (b.Details as Record<string, string>) : undefined,
        requestId: typeof b.RequestID === 'string' ? b.RequestID : undefined,
      })
  }
  if (typeof body === 'string' && body) return new ApiError(body, { status })
  const plain = text.trim().split('\n')[0]
  return new ApiError(plain || `request failed: HTTP ${status} ${statusText}`.trim(), { status })
}

function authHeaders(env: NodeJS.ProcessEnv): Record<string, string> {
  const key = env.BACALHAU_API_KEY
  const user = env.BACALHAU_API_USERNAME
  const pass = env.BACALHAU_API_PASSWORD
  if (key && (user || pass))
    throw new Error('BACALHAU_API_KEY cannot be combined with BACALHAU_API_USERNAME/BACALHAU_API_PASSWORD')
  if (key) return { Authorization: `Bearer ${key}` }
  if (user || pass) {
    if (!user || !pass)
      throw new Error('BACALHAU_API_USERNAME and BACALHAU_API_PASSWORD must be set together')
    return { Authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` }
  }
  return {}
}

export class ApiClient {
  readonly baseUrl: string
  private readonly timeoutMs: number
  private readonly headers: Record<string, string>

  constructor(opts: ApiClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '')
    this.timeoutMs = opts.timeoutMs ?? 30_000
    const v = buildVersionInfo()
    this.headers = {
      Accept: 'application/json',
      'User-Agent': `bacalhau-ts/${v.GitVersion}`,
      'X-Bacalhau-Git-Version': v.GitVersion,
      'X-Bacalhau-Git-Commit': v.GitCommit,
      'X-Bacalhau-Build-Date': v.BuildDate,
      'X-Bacalhau-Build-OS': v.GOOS,
      'X-Bacalhau-Arch': v.GOARCH,
      ...authHeaders(opts.env ?? process.env),
      ...opts.headers,
    }
  }

  /** A client for the API named by a loaded config (API.Host / API.Port). */
  static fromConfig(config: Config, opts: Omit<ApiClientOptions, 'baseUrl'> = {}): ApiClient {
    return new ApiClient({ ...opts, baseUrl: apiBaseUrl(config.API.Host, config.API.Port) })
  }

  async request<T>(method: string, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
    const url = this.baseUrl + path + queryString(opts.query)
    const headers: Record<string, string> = { ...this.headers }
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json'
    let res: Response
    let text: string
    try {
      res = await fetch(url, {
        method,
        headers,
        body: opts.body === undefined ? undefined : stringifyJson(opts.body),
        signal: AbortSignal.timeout(this.timeoutMs),
      })
      text = await res.text()
    } catch (e) {
      throw connectionError(this.baseUrl, e, this.timeoutMs)
    }
    if (!res.ok) throw apiErrorFromBody(res.status, res.statusText, text)
    if (!text) return undefined as T
    try {
      return parseJson(text) as T
    } catch {
      throw new ApiError(`invalid JSON in the response to ${method} ${path}`, { status: res.status })
    }
  }

  // Agent

  alive(): Promise<{ Status: string }> {
    return this.request('GET', '/api/v1/agent/alive')
  }
  agentVersion(): Promise<BuildVersionInfo> {
    return this.request('GET', '/api/v1/agent/version')
  }
  agentNode(): Promise<NodeInfo> {
    return this.request('GET', '/api/v1/agent/node')
  }
  agentConfig(): Promise<{ config: Record<string, unknown> }> {
    return this.request('GET', '/api/v1/agent/config')
  }

  // Jobs

  putJob(job: JobInput | Job | Record<string, unknown>, force = false): Promise<SubmitJobResponse> {
    return this.request('PUT', '/api/v1/orchestrator/jobs', { body: { Job: job, Force: force } })
  }
  listJobs(o: ListJobsOptions = {}): Promise<Page<Job>> {
    return this.request('GET', '/api/v1/orchestrator/jobs', {
      query: {
        namespace: o.namespace,
        limit: o.limit,
        next_token: o.nextToken,
        order_by: o.orderBy,
        reverse: o.reverse || undefined,
        labels: o.labels,
      },
    })
  }
  getJob(id: string, o: GetJobOptions = {}): Promise<GetJobResponse> {
    return this.request('GET', `/api/v1/orchestrator/jobs/${encodeURIComponent(id)}`, {
      query: {
        namespace: o.namespace,
        include: o.include?.length ? o.include.join(',') : undefined,
        job_version: o.jobVersion || undefined,
      },
    })
  }
  stopJob(id: string, reason: string, namespace?: string): Promise<{ EvaluationID: string }> {
    return this.request('DELETE', `/api/v1/orchestrator/jobs/${encodeURIComponent(id)}`, {
      query: { namespace },
      body: { reason },
    })
  }
  jobHistory(id: string, o: HistoryOptions = {}): Promise<Page<JobHistory>> {
    return this.request('GET', `/api/v1/orchestrator/jobs/${encodeURIComponent(id)}/history`, {
      query: {
        namespace: o.namespace,
        limit: o.limit,
        next_token: o.nextToken,
        since: o.since,
        event_type: o.eventType,
        execution_id: o.executionId,
        job_version: o.jobVersion || undefined,
        all_job_versions: o.allJobVersions || undefined,
      },
    })
  }
  jobExecutions(id: string, o: ExecutionsOptions = {}): Promise<Page<Execution>> {
    return this.request('GET', `/api/v1/orchestrator/jobs/${encodeURIComponent(id)}/executions`, {
      query: {
        namespace: o.namespace,
        limit: o.limit,
        order_by: o.orderBy,
        reverse: o.reverse || undefined,
        job_version: o.jobVersion || undefined,
        all_job_versions: o.allJobVersions || undefined,
      },
    })
  }
  jobResults(id: string, namespace?: string): Promise<Page<SpecConfig>> {
    return this.request('GET', `/api/v1/orchestrator/jobs/${encodeURIComponent(id)}/results`, {
      query: { namespace },
    })
  }

  /**
   * Streams an execution's output over the logs WebSocket. Yields `{Type, Line}`;
   * throws when the server sends an `error` frame. Breaking out of the loop closes
   * the socket.
   */
  async *logs(id: string, o: LogsOptions = {}, signal?: AbortSignal): AsyncGenerator<LogEntry> {
    const url =
      this.baseUrl.replace(/^http/i, 'ws') +
      `/api/v1/orchestrator/jobs/${encodeURIComponent(id)}/logs` +
      queryString({
        namespace: o.namespace,
        execution_id: o.executionId,
        follow: o.follow ? 'true' : undefined,
        tail: o.tail ? 'true' : undefined,
        job_version: o.jobVersion || undefined,
      })
    const ws = new WebSocket(url, { headers: this.headers, handshakeTimeout: this.timeoutMs })
    const queue: LogEntry[] = []
    let done = false
    let failure: Error | undefined
    let wake: (() => void) | undefined
    const notify = () => {
      const w = wake
      wake = undefined
      w?.()
    }
    const finish = (err?: Error) => {
      if (done) return
      done = true
      failure = err
      notify()
    }
    ws.on('message', (data) => {
      let frame: { value?: LogEntry; error?: string; Type?: number; Line?: string }
      try {
        frame = JSON.parse(data.toString())
      } catch {
        finish(new Error('invalid log frame from the server'))
        return
      }
      if (frame.error) {
        finish(new ApiError(frame.error, { status: 0 }))
        ws.close()
        return
      }
      const v =
        frame.value ?? (frame.Line !== undefined ? { Type: frame.Type ?? 1, Line: frame.Line } : undefined)
      if (v) queue.push({ Type: v.Type, Line: v.Line ?? '' })
      notify()
    })
    ws.on('close', () => finish())
    ws.on('error', (e) => finish(connectionError(this.baseUrl, e, this.timeoutMs)))
    ws.on('unexpected-response', (_req, res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (text += c))
      res.on('end', () => finish(apiErrorFromBody(res.statusCode ?? 0, res.statusMessage ?? '', text)))
      res.on('error', () =>
        finish(new ApiError(`log stream refused: HTTP ${res.statusCode}`, { status: res.statusCode ?? 0 })),
      )
    })
    const onAbort = () => finish()
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      for (;;) {
        if (queue.length > 0) {
          yield queue.shift()!
          continue
        }
        if (done) break
        await new Promise<void>((resolve) => (wake = resolve))
      }
      if (failure) throw failure
    } finally {
      signal?.removeEventListener('abort', onAbort)
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate()
    }
  }

  // Nodes

  listNodes(o: ListNodesOptions = {}): Promise<{ NextToken: string; Nodes: NodeState[] }> {
    return this.request('GET', '/api/v1/orchestrator/nodes', {
      query: {
        limit: o.limit,
        order_by: o.orderBy,
        reverse: o.reverse || undefined,
        labels: o.labels,
        'filter-approval': o.filterApproval,
        'filter-status': o.filterStatus,
      },
    })
  }
  getNode(id: string): Promise<{ Node: NodeState }> {
    return this.request('GET', `/api/v1/orchestrator/nodes/${encodeURIComponent(id)}`)
  }
  nodeAction(
    id: string,
    action: 'approve' | 'reject' | 'delete',
    message = '',
  ): Promise<{ Success: boolean; Error?: string }> {
    return this.request('PUT', `/api/v1/orchestrator/nodes/${encodeURIComponent(id)}`, {
      body: { NodeID: id, Action: action, Message: message },
    })
  }
}
