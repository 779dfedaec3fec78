// Enforces a memory cap on a module by rewriting the limits of every memory it defines
// or imports before it is compiled. Modules normally declare their own memory with no
// maximum, so the cap cannot be imposed from outside (the JS API has no such knob);
// with a maximum in the binary V8 refuses memory.grow past it, which C's malloc sees
// as "out of memory" (NULL) instead of the process growing without bound.

export const WASM_PAGE = 65536
/** wasm32 addresses at most 4 GiB = 65536 pages. */
export const MAX_PAGES_32 = 65536

export class MemoryLimitError extends Error {}

class Reader {
  pos: number
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start
  }
  byte(): number {
    if (this.pos >= this.end) throw new Error('unexpected end of module')
    return this.buf[this.pos++]!
  }
  /** Unsigned LEB128; numbers up to 2^53 are exact, which covers every limit we read. */
  uleb(): number {
    let result = 0
    let mul = 1
    for (let i = 0; i < 10; i++) {
      const b = this.byte()
      result += (b & 0x7f) * mul
      if ((b & 0x80) === 0) return result
      mul *= 128
    }
    throw new Error('malformed LEB128')
  }
  /** Skips a signed LEB128 (heap types of typed references). */
  skipLeb(): void {
    for (let i = 0; i < 10; i++) if ((this.byte() & 0x80) === 0) return
    throw new Error('malformed LEB128')
  }
  skip(n: number): void {
    if (this.pos + n > this.end) throw new Error('unexpected end of module')
    this.pos += n
  }
}

function uleb(n: number): number[] {
  const out: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return out
}

interface Limits {
  flags: number
  min: number
  max: number | undefined
}

function readLimits(r: Reader): Limits {
  const flags = r.byte()
  const min = r.uleb()
  const max = flags & 1 ? r.uleb() : undefined
  return { flags, min, max }
}

function capLimits(l: Limits, capPages: number, what: string): number[] {
  if (l.min > capPages) {
    throw new MemoryLimitError(
      `${what} needs ${formatBytes(l.min * WASM_PAGE)} of initial memory, more than the memory limit of ${formatBytes(capPages * WASM_PAGE)}`,
    )
  }
  const max = l.max === undefined ? capPages : Math.min(l.max, capPages)
  return [l.flags | 1, ...uleb(l.min), ...uleb(max)]
}

function formatBytes(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`
  return `${Math.ceil(n / 1024)} KiB`
}

/** Bytes → pages, rounded up, clamped to what wasm32 can address. */
export function capToPages(bytes: number): number {
  return Math.min(MAX_PAGES_32, Math.max(1, Math.ceil(bytes / WASM_PAGE)))
}

function rewriteImports(r: Reader, capPages: number, what: string): number[] | undefined {
  const out: number[] = []
  const count = r.uleb()
  out.push(...uleb(count))
  let changed = false
  for (let i = 0; i < count; i++) {
    const start = r.pos
    r.skip(r.uleb()) // module name
    r.skip(r.uleb()) // field name
    const kind = r.byte()
    switch (kind) {
      case 0x00: // function: type index
        r.uleb()
        break
      case 0x01: {
        // table: reftype, limits
        const rt = r.byte()
        if (rt === 0x63 || rt === 0x64) r.skipLeb()
        readLimits(r)
        break
      }
      case 0x02: {
        out.push(...r.buf.subarray(start, r.pos))
        out.push(...capLimits(readLimits(r), capPages, what))
        changed = true
        continue
      }
      case 0x03: {
        // global: valtype, mutability
        const vt = r.byte()
        if (vt === 0x63 || vt === 0x64) r.skipLeb()
        r.byte()
        break
      }
      case 0x04: // tag: attribute, type index
        r.byte()
        r.uleb()
        break
      default:
        throw new Error(`unknown import kind 0x${kind.toString(16)}`)
    }
    out.push(...r.buf.subarray(start, r.pos))
  }
  if (r.pos !== r.end) throw new Error('malformed import section')
  return changed ? out : undefined
}

function rewriteMemories(r: Reader, capPages: number, what: string): number[] {
  const count = r.uleb()
  const out = uleb(count)
  for (let i = 0; i < count; i++) out.push(...capLimits(readLimits(r), capPages, what))
  if (r.pos !== r.end) throw new Error('malformed memory section')
  return out
}

/**
 * Returns a copy of `bytes` whose memories (defined and imported) may not grow past
 * `capPages`. Throws MemoryLimitError when a memory's initial size is already above
 * the cap, and a plain Error when the binary is malformed.
 */
export function applyMemoryCap(bytes: Uint8Array, capPages: number, what = 'the WASM module'): Uint8Array {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error('not a WebAssembly module (bad magic number)')
  }
  const parts: Uint8Array[] = [bytes.subarray(0, 8)]
  const r = new Reader(bytes, 8)
  let changed = false
  while (r.pos < bytes.length) {
    const secStart = r.pos
    const id = r.byte()
    const size = r.uleb()
    const bodyStart = r.pos
    r.skip(size)
    let body: number[] | undefined
    if (id === 2) body = rewriteImports(new Reader(bytes, bodyStart, bodyStart + size), capPages, what)
    else if (id === 5) body = rewriteMemories(new Reader(bytes, bodyStart, bodyStart + size), capPages, what)
    if (body) {
      parts.push(Uint8Array.from([id, ...uleb(body.length), ...body]))
      changed = true
    } else {
      parts.push(bytes.subarray(secStart, r.pos))
    }
  }
  if (!changed) return bytes
  const total = parts.reduce((n, p) => n + p.length, 0)
  const out = new Uint8Array(total)
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}
