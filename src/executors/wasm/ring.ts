// A single-producer/single-consumer byte ring in shared memory, carrying a module's
// stdout or stderr from the worker to the parent.
//
// Why not postMessage per write: the parent would have no backpressure (a module
// printing in a loop could queue gigabytes of messages), and a message per line is
// costly for chatty programs. Here a write is a memcpy plus a notify; the parent
// drains whenever it is woken, so output still arrives live (for `logs -f`), and
// bytes the worker wrote before being terminated are still in the ring to collect.

/** Int32 slots: total bytes written / read, as wrapping 32-bit counters. */
const W = 0
const R = 1
const HEADER_BYTES = 8

export const RING_BYTES = 1 << 20

export function createRing(capacity = RING_BYTES): SharedArrayBuffer {
  if ((capacity & (capacity - 1)) !== 0) throw new Error('ring capacity must be a power of two')
  return new SharedArrayBuffer(HEADER_BYTES + capacity)
}

type WaitAsync = (
  typedArray: Int32Array,
  index: number,
  value: number,
  timeout?: number,
) => { async: false; value: string } | { async: true; value: Promise<string> }

export class RingWriter {
  private readonly ctl: Int32Array
  private readonly data: Uint8Array
  private readonly mask: number

  constructor(sab: SharedArrayBuffer) {
    this.ctl = new Int32Array(sab, 0, 2)
    this.data = new Uint8Array(sab, HEADER_BYTES)
    this.mask = this.data.length - 1
  }

  /** Copies `src` into the ring, blocking while the parent has not made room. */
  write(src: Uint8Array): void {
    const cap = this.data.length
    let off = 0
    while (off < src.length) {
      const w = this.ctl[W]!
      const r = Atomics.load(this.ctl, R)
      const free = cap - ((w - r) | 0)
      if (free === 0) {
        Atomics.notify(this.ctl, W)
        // Bounded wait: the parent may be between drains; terminate() interrupts it.
        Atomics.wait(this.ctl, R, r, 100)
        continue
      }
      const n = Math.min(free, src.length - off)
      const at = (w >>> 0) & this.mask
      const first = Math.min(n, cap - at)
      this.data.set(src.subarray(off, off + first), at)
      if (n > first) this.data.set(src.subarray(off + first, off + n), 0)
      Atomics.store(this.ctl, W, (w + n) | 0)
      Atomics.notify(this.ctl, W)
      off += n
    }
  }
}

export class RingReader {
  private readonly ctl: Int32Array
  private readonly data: Uint8Array
  private readonly mask: number
  private closed = false

  constructor(
    sab: SharedArrayBuffer,
    private readonly sink: (chunk: Uint8Array) => void,
  ) {
    this.ctl = new Int32Array(sab, 0, 2)
    this.data = new Uint8Array(sab, HEADER_BYTES)
    this.mask = this.data.length - 1
  }

  /** Hands everything written so far to the sink, in one chunk. */
  drain(): void {
    const r = this.ctl[R]!
    const w = Atomics.load(this.ctl, W)
    const n = (w - r) | 0
    if (n <= 0) return
    const cap = this.data.length
    const at = (r >>> 0) & this.mask
    const first = Math.min(n, cap - at)
    const chunk = new Uint8Array(n)
    chunk.set(this.data.subarray(at, at + first), 0)
    if (n > first) chunk.set(this.data.subarray(0, n - first), first)
    Atomics.store(this.ctl, R, w)
    Atomics.notify(this.ctl, R)
    this.sink(chunk)
  }

  /** Drains every time the writer signals, until close(). */
  follow(): void {
    const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync
    const loop = (): void => {
      while (!this.closed) {
        const seen = Atomics.load(this.ctl, W)
        if (seen !== this.ctl[R]) {
          this.drain()
          continue
        }
        const res = waitAsync(this.ctl, W, seen)
        if (res.async) {
          void res.value.then(loop)
          return
        }
      }
    }
    loop()
  }

  /** Stops following after a last drain; wakes the pending waitAsync so nothing lingers. */
  close(): void {
    if (this.closed) return
    this.drain()
    this.closed = true
    Atomics.notify(this.ctl, W)
  }
}
