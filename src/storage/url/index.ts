// The `urlDownload` input source: an HTTP(S) file fetched onto the node before the task
// runs (bacalhau-api.md §5.3, bacalhau-behaviour.md §2.3, §4.1). The file is mounted on its
// own at Target/<filename>, as Bacalhau binds it, so whatever else the image has under
// Target stays visible.
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { formatDuration } from '../../config/types.js'
import type { PreparedInput } from '../../executors/types.js'
import { paramValue } from '../../models/ci.js'
import type { InputSource } from '../../models/job.js'
import { logger as rootLogger } from '../../util/logger.js'
import type { StorageProvider } from '../types.js'
import { contentDispositionFileName, isDirectoryUrl, urlFileName } from './filename.js'

export { contentDispositionFileName, sanitizeFileName, urlFileName } from './filename.js'

/** InputSources.ReadTimeout's default. */
export const DEFAULT_READ_TIMEOUT_MS = 5 * 60 * 1000
/** InputSources.MaxRetryCount's default. */
export const DEFAULT_MAX_RETRIES = 3
export const MAX_REDIRECTS = 10
/** A HEAD at bid time must not hold up the bid for long; it is only an estimate. */
const ESTIMATE_TIMEOUT_MS = 10_000
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])
const USER_AGENT = 'bacalhau-ts urlDownload'

export interface UrlStorageLogger {
  warn(obj: object, msg: string): void
  debug(obj: object, msg: string): void
}

export interface UrlStorageOptions {
  /** The whole download, retries included, must finish within this (InputSources.ReadTimeout). */
  readTimeoutMs?: number
  /** Further attempts after the first fails (InputSources.MaxRetryCount). */
  maxRetries?: number
  /** Largest file accepted, in bytes; undefined, 0 or negative means no cap. */
  maxBytes?: number
  /** First retry delay; each later one doubles, up to 8×. */
  retryDelayMs?: number
  logger?: UrlStorageLogger
}

/** A failed attempt, with whether another attempt could succeed. */
class AttemptError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export class UrlStorage implements StorageProvider {
  readonly types = ['urldownload'] as const
  private readonly readTimeoutMs: number
  private readonly maxRetries: number
  private readonly maxBytes: number
  private readonly retryDelayMs: number
  private readonly log: UrlStorageLogger
  /** hostPath → the private directory prepare() made for it, removed by cleanup(). */
  private readonly owned = new Map<string, string>()

  constructor(opts: UrlStorageOptions = {}) {
    this.readTimeoutMs =
      opts.readTimeoutMs && opts.readTimeoutMs > 0 ? opts.readTimeoutMs : DEFAULT_READ_TIMEOUT_MS
    this.maxRetries = Math.max(0, Math.floor(opts.maxRetries ?? DEFAULT_MAX_RETRIES))
    this.maxBytes = opts.maxBytes && opts.maxBytes > 0 ? opts.maxBytes : Infinity
    this.retryDelayMs = Math.max(0, opts.retryDelayMs ?? 500)
    this.log = opts.logger ?? rootLogger().child({ component: 'urldownload' })
  }

  async isInstalled(): Promise<boolean> {
    return true
  }

  validate(input: InputSource): string | undefined {
    try {
      parseUrlParam(input)
      return undefined
    } catch (err) {
      return (err as Error).message
    }
  }

  async prepare(input: InputSource, workDir: string, signal: AbortSignal): Promise<PreparedInput> {
    signal.throwIfAborted()
    const url = parseUrlParam(input)
    const prefix = `urlDownload input ${displayUrl(url)}`
    await fs.promises.mkdir(workDir, { recursive: true })
    // A private directory: the name comes from outside, so it must not meet anything else.
    const dir = await fs.promises.mkdtemp(path.join(workDir, 'url-'))
    const deadline = AbortSignal.timeout(this.readTimeoutMs)
    const both = AbortSignal.any([signal, deadline])
    const failed = (err: unknown): Error => {
      if (signal.aborted) return signal.reason as Error
      if (deadline.aborted) {
        return new Error(
          `${prefix}: timed out after ${formatDuration(this.readTimeoutMs)} (InputSources.ReadTimeout)`,
          { cause: err },
        )
      }
      return new Error(`${prefix}: ${(err as Error).message}`, { cause: err })
    }
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const { file, bytes } = await this.attempt(url, dir, both)
          both.throwIfAborted()
          this.log.debug({ url: displayUrl(url), file, bytes }, 'downloaded input')
          this.owned.set(file, dir)
          return {
            hostPath: file,
            target: path.posix.join(input.Target, path.basename(file)),
            readOnly: true,
          }
        } catch (err) {
          await emptyDir(dir)
          if (both.aborted || !(err instanceof AttemptError) || !err.retryable) throw err
          if (attempt >= this.maxRetries) {
            const attempts = attempt + 1
            throw new AttemptError(`${err.message} (after ${attempts} attempts)`, false, { cause: err })
          }
          const delay = Math.min(this.retryDelayMs * 2 ** attempt, this.retryDelayMs * 8)
          this.log.warn(
            { url: displayUrl(url), attempt: attempt + 1, delayMs: delay, error: err.message },
            'input download failed; retrying',
          )
          await sleep(delay, undefined, { signal: both })
        }
      }
    } catch (err) {
      // The download's own error is the one worth reporting, not a failed tidy-up.
      await fs.promises.rm(dir, { recursive: true, force: true }).catch(() => {})
      throw failed(err)
    }
  }

  async cleanup(prepared: PreparedInput): Promise<void> {
    const dir = this.owned.get(prepared.hostPath)
    if (!dir) return
    this.owned.delete(prepared.hostPath)
    await fs.promises.rm(dir, { recursive: true, force: true })
  }

  /**
   * The download's size from a HEAD (after redirects), for bid-time disk accounting
   * (bacalhau-behaviour.md §3.8). Best effort: undefined when the server will not say.
   */
  async estimateSize(input: InputSource, signal?: AbortSignal): Promise<number | undefined> {
    try {
      const url = parseUrlParam(input)
      const limit = AbortSignal.timeout(Math.min(this.readTimeoutMs, ESTIMATE_TIMEOUT_MS))
      const res = await followRedirects(url, 'HEAD', signal ? AbortSignal.any([signal, limit]) : limit)
      res.destroy()
      const status = res.statusCode ?? 0
      if (status < 200 || status >= 300) return undefined
      return contentLength(res)
    } catch {
      return undefined
    }
  }

  /** One GET, redirects included, streamed into `dir`. */
  private async attempt(
    url: URL,
    dir: string,
    signal: AbortSignal,
  ): Promise<{ file: string; bytes: number }> {
    const res = await followRedirects(url, 'GET', signal)
    const status = res.statusCode ?? 0
    if (status < 200 || status >= 300) {
      res.destroy()
      const text = res.statusMessage || http.STATUS_CODES[status] || ''
      throw new AttemptError(`server answered ${status}${text ? ` ${text}` : ''}`, retryableStatus(status))
    }
    const length = contentLength(res)
    if (length !== undefined && length > this.maxBytes) {
      res.destroy()
      throw new AttemptError(`larger than the ${this.maxBytes} byte limit (Content-Length ${length})`, false)
    }
    const file = path.join(dir, fileNameFor(url, res))
    let fh: fs.promises.FileHandle
    try {
      // O_EXCL: never write through anything already at the path.
      fh = await fs.promises.open(file, 'wx', 0o644)
    } catch (err) {
      res.destroy()
      throw new AttemptError(`cannot create ${file}: ${(err as Error).message}`, false, { cause: err })
    }
    let bytes = 0
    try {
      // Awaiting each write before pulling the next chunk is the backpressure that keeps
      // memory flat however large the file is.
      const chunks = res[Symbol.asyncIterator]()
      for (;;) {
        let next: IteratorResult<Buffer>
        try {
          next = (await chunks.next()) as IteratorResult<Buffer>
        } catch (err) {
          throw new AttemptError(`connection lost after ${bytes} bytes: ${(err as Error).message}`, true, {
            cause: err,
          })
        }
        if (next.done) break
        bytes += next.value.length
        if (bytes > this.maxBytes) {
          await chunks.return?.()
          throw new AttemptError(`larger than the ${this.maxBytes} byte limit`, false)
        }
        await writeAll(fh, next.value, file)
      }
    } finally {
      res.destroy()
      await fh.close()
    }
    if (length !== undefined && bytes !== length) {
      throw new AttemptError(`connection closed after ${bytes} of ${length} bytes`, true)
    }
    return { file, bytes }
  }
}

/** The URL param, checked: present, parseable, http(s), naming a file. Throws the reason. */
export function parseUrlParam(input: InputSource): URL {
  const raw = paramValue(input.Source?.Params ?? undefined, 'URL')
  if (raw === undefined || raw === null || raw === '') throw new Error('urlDownload input: URL is required')
  if (typeof raw !== 'string') throw new Error('urlDownload input: URL must be a string')
  // Bacalhau strips stray quotes and blanks, which shells and YAML tend to leave behind.
  const trimmed = raw.replace(/^[\s'"]+|[\s'"]+$/g, '')
  let url: URL
  try {
    url = new URL(trimmed)
  } catch {
    throw new Error(`urlDownload input: invalid URL ${JSON.stringify(raw)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`urlDownload input: unsupported URL scheme "${url.protocol}" (only http and https)`)
  }
  if (isDirectoryUrl(url)) {
    throw new Error(`urlDownload input ${displayUrl(url)}: points at a directory; give a file URL`)
  }
  return url
}

/**
 * The name under Target: the URL's last segment; but after a redirect the final server's
 * Content-Disposition name wins, since the first URL often names only the redirector
 * (".../download/latest"). A random UUID when neither gives a usable name.
 */
function fileNameFor(url: URL, res: ResponseWithUrl): string {
  const disposition = contentDispositionFileName(res.headers['content-disposition'])
  if (res.redirected && disposition) return disposition
  return urlFileName(url) ?? disposition ?? randomUUID()
}

type ResponseWithUrl = http.IncomingMessage & { redirected: boolean }

/** Sends `method`, following up to MAX_REDIRECTS redirects; the final response is returned unread. */
async function followRedirects(
  url: URL,
  method: 'GET' | 'HEAD',
  signal: AbortSignal,
): Promise<ResponseWithUrl> {
  let current = url
  const seen = new Set([withoutHash(url)])
  for (let hops = 0; ; hops++) {
    const res = await request(current, method, signal)
    const location = res.headers.location
    if (!REDIRECT_STATUSES.has(res.statusCode ?? 0) || !location) {
      return Object.assign(res, { redirected: hops > 0 })
    }
    res.destroy()
    let next: URL
    try {
      next = new URL(location, current)
    } catch {
      throw new AttemptError(`redirected to an invalid URL ${JSON.stringify(location)}`, false)
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new AttemptError(`redirected to unsupported URL scheme "${next.protocol}"`, false)
    }
    // Without cookies or state a revisited URL answers the same way again: fail now, not
    // after ten round trips.
    if (seen.has(withoutHash(next))) {
      throw new AttemptError(`too many redirects (a loop back to ${displayUrl(next)})`, false)
    }
    if (hops + 1 > MAX_REDIRECTS)
      throw new AttemptError(`too many redirects (more than ${MAX_REDIRECTS})`, false)
    seen.add(withoutHash(next))
    current = next
  }
}

function request(url: URL, method: 'GET' | 'HEAD', signal: AbortSignal): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http
    // agent: false — one connection per request, so no idle keep-alive socket outlives the
    // download (a pooled one would pin the server and this process for its idle time).
    const req = mod.request(
      url,
      {
        method,
        signal,
        agent: false,
        // identity: the task must get the server's bytes, not a transfer encoding of them.
        headers: { 'user-agent': USER_AGENT, accept: '*/*', 'accept-encoding': 'identity' },
      },
      resolve,
    )
    req.on('error', (err) => reject(networkError(err, url)))
    req.end()
  })
}

function networkError(err: NodeJS.ErrnoException, url: URL): Error {
  if (err.name === 'AbortError') return err
  const code = err.code ?? ''
  const where = url.host
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new AttemptError(`cannot resolve host ${url.hostname}: ${err.message}`, true, { cause: err })
  }
  // A certificate problem will not fix itself between attempts.
  const tls = /CERT|SSL|TLS|SIGNATURE/i.test(code)
  if (tls) return new AttemptError(`TLS failure talking to ${where}: ${err.message}`, false, { cause: err })
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT') {
    return new AttemptError(`cannot connect to ${where}: ${err.message}`, true, { cause: err })
  }
  return new AttemptError(`request to ${where} failed: ${err.message}`, true, { cause: err })
}

/**
 * go-retryablehttp's rule, which Bacalhau builds on: 5xx (but 501, which will not change)
 * and 429 are worth another try; other 4xx and odd codes are the request's fault.
 */
function retryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501)
}

function contentLength(res: http.IncomingMessage): number | undefined {
  const v = res.headers['content-length']
  if (v === undefined || !/^\d+$/.test(v)) return undefined
  const n = Number(v)
  return Number.isSafeInteger(n) ? n : undefined
}

async function writeAll(fh: fs.promises.FileHandle, chunk: Buffer, file: string): Promise<void> {
  try {
    let off = 0
    while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten
  } catch (err) {
    throw new AttemptError(`cannot write ${file}: ${(err as Error).message}`, false, { cause: err })
  }
}

/** Removes a failed attempt's partial file so a retry starts clean. */
async function emptyDir(dir: string): Promise<void> {
  const names = await fs.promises.readdir(dir).catch(() => [] as string[])
  await Promise.all(names.map((n) => fs.promises.rm(path.join(dir, n), { recursive: true, force: true })))
}

function withoutHash(u: URL): string {
  return u.href.replace(/#.*$/, '')
}

/** The URL for messages and logs, with any password in it masked. */
function displayUrl(u: URL): string {
  if (!u.password) return u.href
  const copy = new URL(u.href)
  copy.password = '***'
  return copy.href
}
