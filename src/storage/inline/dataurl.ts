// RFC 2397 `data:` URL decoding for inline inputs. Bacalhau's client writes standard base64,
// but hand-written jobs use URL-safe base64, drop padding, or percent-encode plain text, so
// all of those are accepted; anything ambiguous is an error rather than a guess.

/** Bacalhau's client refuses to inline more than this; larger payloads are refused here too. */
export const MAX_INLINE_BYTES = 10 * 1024 * 1024

export interface DataUrl {
  /** Lower-case `type/subtype`; `text/plain` when the URL names none. */
  mediaType: string
  /** Media-type parameters other than `base64`, keys lower-cased (e.g. `charset`). */
  params: Record<string, string>
  base64: boolean
  data: Buffer
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** Parses and decodes a data URL; throws an Error whose message names the problem. */
export function parseDataUrl(url: string, maxBytes = MAX_INLINE_BYTES, ctx = 'inline input'): DataUrl {
  const s = url.trim()
  if (!/^data:/i.test(s)) throw new Error(`${ctx}: URL must be a data: URL`)
  const comma = s.indexOf(',')
  if (comma < 0) throw new Error(`${ctx}: malformed data URL: missing ',' before the data`)
  const header = s.slice(5, comma)
  const payload = s.slice(comma + 1)

  const parts = header.split(';').map((p) => p.trim())
  let base64 = false
  if (parts.length > 1 && parts[parts.length - 1]!.toLowerCase() === 'base64') {
    base64 = true
    parts.pop()
  }
  let mediaType = 'text/plain'
  const first = parts.shift() ?? ''
  if (first !== '') {
    const [type, subtype, ...rest] = first.split('/')
    if (rest.length > 0 || !type || !subtype || !TOKEN.test(type) || !TOKEN.test(subtype)) {
      throw new Error(`${ctx}: malformed data URL: invalid media type ${JSON.stringify(first)}`)
    }
    mediaType = `${type}/${subtype}`.toLowerCase()
  }
  const params: Record<string, string> = {}
  for (const p of parts) {
    const eq = p.indexOf('=')
    const key = eq < 0 ? '' : p.slice(0, eq).trim().toLowerCase()
    if (eq < 0 || !TOKEN.test(key)) {
      throw new Error(`${ctx}: malformed data URL: invalid parameter ${JSON.stringify(p)}`)
    }
    let value = p.slice(eq + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    params[key] = value
  }

  const data = base64
    ? decodeBase64(percentDecode(payload, Infinity, ctx).toString('latin1'), maxBytes, ctx)
    : percentDecode(payload, maxBytes, ctx)
  return { mediaType, params, base64, data }
}

/** Whether the media type marks a gzipped tarball (extracted to a directory). */
export function isGzipMediaType(mediaType: string): boolean {
  return mediaType === 'application/gzip' || mediaType === 'application/x-gzip'
}

function tooLarge(ctx: string, maxBytes: number): Error {
  return new Error(`${ctx}: data exceeds the ${maxBytes}-byte inline limit`)
}

/** Percent-decodes to bytes; other characters are taken as their UTF-8 encoding. */
function percentDecode(s: string, maxBytes: number, ctx: string): Buffer {
  if (!s.includes('%')) {
    const b = Buffer.from(s, 'utf8')
    if (b.length > maxBytes) throw tooLarge(ctx, maxBytes)
    return b
  }
  const chunks: Buffer[] = []
  let total = 0
  let i = 0
  while (i < s.length) {
    const pct = s.indexOf('%', i)
    const end = pct < 0 ? s.length : pct
    if (end > i) {
      const b = Buffer.from(s.slice(i, end), 'utf8')
      chunks.push(b)
      total += b.length
    }
    if (pct < 0) break
    const hex = s.slice(pct + 1, pct + 3)
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
      throw new Error(`${ctx}: malformed data URL: bad percent-encoding at offset ${pct}`)
    }
    chunks.push(Buffer.of(parseInt(hex, 16)))
    total += 1
    if (total > maxBytes) throw tooLarge(ctx, maxBytes)
    i = pct + 3
  }
  if (total > maxBytes) throw tooLarge(ctx, maxBytes)
  return Buffer.concat(chunks, total)
}

/**
 * Strict base64: Buffer.from(…, 'base64') silently skips invalid characters, so the
 * alphabet and padding are checked first. The size is checked before decoding so that a
 * huge payload is refused without allocating its decoded form.
 */
function decodeBase64(text: string, maxBytes: number, ctx: string): Buffer {
  const s = text.replace(/[\t\n\f\r ]+/g, '')
  const m = /^([A-Za-z0-9+/_-]*)(={0,2})$/.exec(s)
  if (!m) throw new Error(`${ctx}: invalid base64 data: unexpected character or misplaced '='`)
  const body = m[1]!
  const pad = m[2]!.length
  if (body.length % 4 === 1) throw new Error(`${ctx}: invalid base64 data: truncated input`)
  if (pad > 0 && (body.length + pad) % 4 !== 0) throw new Error(`${ctx}: invalid base64 data: wrong padding`)
  const decodedLength = Math.floor((body.length * 3) / 4)
  if (decodedLength > maxBytes) throw tooLarge(ctx, maxBytes)
  return Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
}
