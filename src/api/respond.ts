// Response encoding and error rendering shared by HTTP routes and the raw responses
// written on WebSocket upgrade sockets.
import type { Context } from 'koa'
import { BacalhauError } from '../models/errors.js'
import { stringifyJson } from '../models/json.js'
import { buildVersionInfo } from '../models/version.js'

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'

export interface ApiErrorBody {
  Status: number
  Message: string
  RequestID: string
  Code: string
  Component: string
  Hint?: string
  Details?: Record<string, string>
}

const htmlAndSeparators = /[<>&\u2028\u2029]/g
const separators = /[\u2028\u2029]/g

/**
 * Encodes like Go's json.Encoder: bigint as exact numbers, `<>&` escaped unless asked not
 * to (the results endpoint keeps pre-signed URLs readable), and a trailing newline.
 */
export function encodeJson(value: unknown, opts: { pretty?: boolean; escapeHtml?: boolean } = {}): string {
  const text = stringifyJson(value, opts.pretty ? 2 : undefined) ?? 'null'
  const pattern = opts.escapeHtml === false ? separators : htmlAndSeparators
  return text.replace(pattern, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) + '\n'
}

export const wantsPretty = (ctx: Context) => new URLSearchParams(ctx.querystring).has('pretty')

export function sendJson(
  ctx: Context,
  status: number,
  value: unknown,
  opts: { escapeHtml?: boolean } = {},
): void {
  ctx.status = status
  ctx.set('Content-Type', JSON_CONTENT_TYPE)
  ctx.body = encodeJson(value, { pretty: wantsPretty(ctx), escapeHtml: opts.escapeHtml })
}

export interface RenderedError {
  body: ApiErrorBody
  /** True when the message was hidden because the error carried no API fields. */
  internal: boolean
}

function isBacalhauError(err: unknown): err is BacalhauError {
  if (err instanceof BacalhauError) return true
  // A second copy of the models module (e.g. a test importing from src and dist) still counts.
  const e = err as Partial<BacalhauError> | null
  return !!e && e.name === 'BacalhauError' && typeof e.status === 'number' && typeof e.message === 'string'
}

export function renderError(err: unknown, requestId: string): RenderedError {
  if (isBacalhauError(err)) {
    const body: ApiErrorBody = {
      Status: err.status,
      Message: err.message,
      RequestID: requestId,
      Code: err.code,
      Component: err.component,
    }
    if (err.hint) body.Hint = err.hint
    if (err.details && Object.keys(err.details).length > 0) body.Details = err.details
    return { body, internal: false }
  }
  return {
    body: {
      Status: 500,
      Message: 'Internal server error',
      RequestID: requestId,
      Code: 'InternalError',
      Component: 'Unknown',
    },
    internal: true,
  }
}

export const apiServerError = (status: number, message: string) =>
  new BacalhauError(message, { code: 'InternalError', status, component: 'APIServer' })

export function routeNotFound(): BacalhauError {
  return new BacalhauError('The requested resource/URL was not found.', {
    code: 'NotFound',
    component: 'APIServer',
    hint:
      'Check the URL path and version prefix (/api/v1/...). If you use the bacalhau CLI, make sure ' +
      'its version is compatible with this server (see `bacalhau version`).',
    details: { cli_usage: "Run 'bacalhau --help' to list the available commands." },
  })
}

/** Go's time.Time.String() form, which Bacalhau uses in X-Bacalhau-Build-Date. */
function goTimeString(iso: string): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const pad = (n: number) => String(n).padStart(2, '0')
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  const ms = d.getUTCMilliseconds()
  const frac = ms ? '.' + String(ms).padStart(3, '0').replace(/0+$/, '') : ''
  return `${date} ${time}${frac} +0000 UTC`
}

let cachedServerHeaders: Record<string, string> | undefined

export function serverHeaders(): Record<string, string> {
  if (!cachedServerHeaders) {
    const v = buildVersionInfo()
    cachedServerHeaders = {
      'X-Bacalhau-Git-Version': v.GitVersion,
      'X-Bacalhau-Git-Commit': v.GitCommit,
      'X-Bacalhau-Build-Date': goTimeString(v.BuildDate),
      'X-Bacalhau-Build-OS': v.GOOS,
      'X-Bacalhau-Arch': v.GOARCH,
    }
  }
  return cachedServerHeaders
}
