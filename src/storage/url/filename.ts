// Choosing the name a downloaded file gets under its Target (bacalhau-api.md §5.3,
// bacalhau-behaviour.md §4.1). Every name here comes from the job author or from a server
// the node does not control, so each is reduced to one safe path component before use.

/** Linux NAME_MAX: longer names fail at open() with ENAMETOOLONG. */
const MAX_NAME_BYTES = 255

/**
 * Makes `raw` a single harmless file name: separators and control characters become `_`,
 * and `.`/`..`/blank names are refused (undefined) so the caller falls back to another name.
 */
export function sanitizeFileName(raw: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  const name = raw.replace(/[/\\]/g, '_').replace(/[\u0000-\u001f\u007f]/g, '_')
  if (name.trim() === '' || name === '.' || name === '..') return undefined
  return truncate(name)
}

/** Shortens the stem, not the extension: the extension is what tools key on (main.wasm). */
function truncate(name: string): string {
  if (Buffer.byteLength(name) <= MAX_NAME_BYTES) return name
  const dot = name.lastIndexOf('.')
  const ext = dot > 0 && name.length - dot <= 32 ? name.slice(dot) : ''
  const stem = Array.from(ext ? name.slice(0, dot) : name)
  const budget = MAX_NAME_BYTES - Buffer.byteLength(ext)
  while (stem.length > 0 && Buffer.byteLength(stem.join('')) > budget) stem.pop()
  return stem.join('') + ext
}

/**
 * The URL's last path segment, percent-decoded. An encoded slash (`%2F`) decodes to a
 * separator, which sanitising turns into `_`, so the name can never leave its directory.
 */
export function urlFileName(url: URL): string | undefined {
  const raw = url.pathname.slice(url.pathname.lastIndexOf('/') + 1)
  if (raw === '') return undefined
  let decoded: string
  try {
    decoded = decodeURIComponent(raw)
  } catch {
    // Not valid UTF-8 once decoded: the encoded form is still a usable, if ugly, name.
    decoded = raw
  }
  return sanitizeFileName(decoded)
}

/** True when the URL's path names a directory (ends in `/`, or is empty). */
export function isDirectoryUrl(url: URL): boolean {
  return url.pathname === '' || url.pathname.endsWith('/')
}

/**
 * The file name a Content-Disposition header proposes (RFC 6266), or undefined.
 * `filename*` (RFC 8187, charset-tagged) wins over `filename`, and any directory part is
 * dropped, as RFC 6266 §4.3 asks of recipients.
 */
export function contentDispositionFileName(header: string | undefined): string | undefined {
  if (!header) return undefined
  const params = parseParams(header)
  let name: string | undefined
  const extended = params.get('filename*')
  if (extended !== undefined) name = decodeExtValue(extended)
  if (name === undefined) name = params.get('filename')
  if (name === undefined) return undefined
  const base = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1)
  return sanitizeFileName(base)
}

/** Parameters after the disposition type; quoted values may contain `;` and `\` escapes. */
function parseParams(header: string): Map<string, string> {
  const out = new Map<string, string>()
  let i = header.indexOf(';')
  if (i < 0) return out
  const n = header.length
  while (i < n) {
    while (i < n && (header[i] === ';' || header[i] === ' ' || header[i] === '\t')) i++
    const eq = header.indexOf('=', i)
    if (eq < 0) break
    const key = header.slice(i, eq).trim().toLowerCase()
    i = eq + 1
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++
    let value = ''
    if (header[i] === '"') {
      i++
      while (i < n && header[i] !== '"') {
        if (header[i] === '\\' && i + 1 < n) i++
        value += header[i]
        i++
      }
      i++ // the closing quote
      const semi = header.indexOf(';', i)
      i = semi < 0 ? n : semi
    } else {
      const semi = header.indexOf(';', i)
      const end = semi < 0 ? n : semi
      value = header.slice(i, end).trim()
      i = end
    }
    // The first occurrence counts: a duplicate is a malformed header, not an override.
    if (key !== '' && !out.has(key)) out.set(key, value)
  }
  return out
}

/** Decodes `charset'language'percent-encoded` (RFC 8187); UTF-8 and ISO-8859-1 only. */
function decodeExtValue(v: string): string | undefined {
  const m = /^([^']*)'[^']*'(.*)$/.exec(v)
  if (!m) return undefined
  const charset = m[1].toLowerCase()
  if (charset !== 'utf-8' && charset !== 'iso-8859-1') return undefined
  const bytes: number[] = []
  const s = m[2]
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16))
      i += 2
    } else {
      bytes.push(s.charCodeAt(i) & 0xff)
    }
  }
  try {
    return new TextDecoder(charset === 'utf-8' ? 'utf-8' : 'latin1', { fatal: true }).decode(
      Uint8Array.from(bytes),
    )
  } catch {
    return undefined
  }
}
