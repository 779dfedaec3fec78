// Query and body decoding with Bacalhau's binding rules (reference §1.3): Go's echo binder
// takes the first value of a repeated scalar, treats an empty value as the zero value,
// and a value that does not parse is a 400 request-validation error.
import type { Context } from 'koa'
import getRawBody from 'raw-body'
import { invalidRequest } from '../models/errors.js'
import type { LabelSelectorRequirement } from '../models/job.js'
import { parseJson } from '../models/json.js'
import { parseSelector } from '../models/labels.js'
import { apiServerError } from './respond.js'

export const MAX_BODY_BYTES = 10 * 1024 * 1024

const UINT32_MAX = 4294967295
// strconv.ParseBool's vocabulary.
const boolWords = new Map<string, boolean>([
  ['1', true],
  ['t', true],
  ['T', true],
  ['true', true],
  ['TRUE', true],
  ['True', true],
  ['0', false],
  ['f', false],
  ['F', false],
  ['false', false],
  ['FALSE', false],
  ['False', false],
])

export class Query {
  private readonly params: URLSearchParams

  constructor(querystring: string) {
    this.params = new URLSearchParams(querystring)
  }

  /** First value, or undefined when absent or empty. */
  string(name: string): string | undefined {
    const v = this.params.get(name)
    return v === null || v === '' ? undefined : v
  }

  all(name: string): string[] {
    return this.params.getAll(name)
  }

  uint32(name: string): number | undefined {
    const v = this.string(name)
    if (v === undefined) return undefined
    if (!/^\d+$/.test(v) || Number(v) > UINT32_MAX)
      throw invalidRequest(`invalid ${name} ${JSON.stringify(v)}: must be an unsigned 32-bit integer`)
    return Number(v)
  }

  /** Unix seconds; Bacalhau rejects negative values. */
  nonNegativeInt(name: string): number | undefined {
    const v = this.string(name)
    if (v === undefined) return undefined
    if (!/^[+-]?\d+$/.test(v) || !Number.isSafeInteger(Number(v)))
      throw invalidRequest(`invalid ${name} ${JSON.stringify(v)}: must be an integer`)
    const n = Number(v)
    if (n < 0) throw invalidRequest(`invalid ${name} ${n}: must be greater than or equal to 0`)
    return n
  }

  bool(name: string): boolean | undefined {
    const v = this.string(name)
    if (v === undefined) return undefined
    const b = boolWords.get(v)
    if (b === undefined)
      throw invalidRequest(`invalid ${name} ${JSON.stringify(v)}: must be a boolean (true/false/1/0)`)
    return b
  }

  /** Every `labels=` value parsed as a selector; repeated values are AND-ed. */
  labels(): LabelSelectorRequirement[] | undefined {
    const values = this.all('labels')
    if (values.length === 0) return undefined
    const out: LabelSelectorRequirement[] = []
    for (const v of values) {
      try {
        out.push(...parseSelector(v))
      } catch (err) {
        throw invalidRequest(`invalid labels ${JSON.stringify(v)}: ${(err as Error).message}`)
      }
    }
    return out
  }
}

export const queryOf = (ctx: Context) => new Query(ctx.querystring)

/**
 * Reads and decodes a JSON body. Returns undefined for an empty body, as Go skips binding
 * when there is no content. Any content type is accepted: clients such as curl default
 * to form encoding while sending JSON.
 */
export async function readJsonBody(ctx: Context): Promise<unknown> {
  let text: string
  try {
    const length = ctx.get('Content-Length')
    text = await getRawBody(ctx.req, { limit: MAX_BODY_BYTES, length: length || undefined, encoding: 'utf8' })
  } catch (err) {
    const e = err as { type?: string; status?: number; message?: string }
    if (e.type === 'entity.too.large' || e.status === 413)
      throw apiServerError(413, 'Request Entity Too Large')
    throw invalidRequest(`failed to read request body: ${e.message ?? String(err)}`)
  }
  if (text.trim() === '') return undefined
  try {
    return parseJson(text)
  } catch (err) {
    throw invalidRequest(`invalid JSON body: ${(err as Error).message}`)
  }
}

/** Case-insensitive key lookup, as Go decodes JSON into structs. */
export function field(body: unknown, name: string): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined
  const obj = body as Record<string, unknown>
  if (name in obj) return obj[name]
  const lower = name.toLowerCase()
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v
  return undefined
}

/** A string body field; any other JSON type is a decode error, as in Go. */
export function stringField(body: unknown, name: string): string | undefined {
  const v = field(body, name)
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string') throw invalidRequest(`invalid JSON body: field ${name} must be a string`)
  return v
}

/** Bodies that are not JSON objects cannot be bound to a request struct. */
export function requireObjectBody(body: unknown): void {
  if (body === undefined || body === null) return
  if (typeof body !== 'object' || Array.isArray(body))
    throw invalidRequest(
      `invalid JSON body: expected an object, got ${Array.isArray(body) ? 'an array' : typeof body}`,
    )
}
