// Small helpers shared by the vendor parsers. Errors always start with the tool's name so a
// warn line in the node's log says which tool misbehaved.

/** A short, single-line excerpt of tool output for error messages. */
export function excerpt(text: string, max = 120): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return JSON.stringify(flat.length > max ? `${flat.slice(0, max)}…` : flat)
}

/**
 * Parses the JSON document in a tool's stdout. rocm-smi prints human warnings such as
 * "WARNING: AMD GPU device(s) is/are in a low-power state. Check power control/runtime_status"
 * on stdout ahead of the JSON, so parsing starts at the first line that opens a document.
 */
export function parseJsonOutput(text: string, tool: string): unknown {
  const lines = text.split(/\r?\n/)
  const start = lines.findIndex((l) => /^\s*[{[]/.test(l))
  if (start < 0) throw new Error(`${tool}: output is not JSON: ${excerpt(text)}`)
  const body = lines.slice(start).join('\n')
  try {
    return JSON.parse(body)
  } catch (e) {
    throw new Error(`${tool}: malformed JSON output (${(e as Error).message}): ${excerpt(body)}`)
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Values the tools print for a quantity they cannot read. */
export function isNotAvailable(v: string): boolean {
  return /^\[?(n\/a|not supported|unknown)\]?$/i.test(v.trim())
}

/**
 * Reads a non-negative integer that the tools print either as a JSON number or as a decimal
 * string ("68702699520"). Returns undefined for a "not available" marker or an absent value.
 */
export function readCount(v: unknown, tool: string, what: string): number | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return v
  } else if (typeof v === 'string') {
    const s = v.trim()
    if (s === '' || isNotAvailable(s)) return undefined
    if (/^\d+$/.test(s) && Number.isSafeInteger(Number(s))) return Number(s)
  }
  throw new Error(`${tool}: invalid ${what} ${JSON.stringify(v)}`)
}

export const BYTES_PER_MIB = 1024 * 1024
