// Splits Docker's multiplexed attach/logs stream (Tty false) into stdout and stderr.
// Each frame is an 8-byte header — stream type (0 stdin, 1 stdout, 2 stderr), three zero
// bytes, big-endian uint32 payload length — then the payload. Frames can be cut anywhere
// by the socket, so partial headers and payloads are carried over to the next chunk.
// A payload is forwarded piecewise as it arrives rather than held until complete: a
// process that prints a long line slowly still shows up live.

export type StreamKind = 'stdout' | 'stderr'

const HEADER = 8

export class Demuxer {
  private header = Buffer.alloc(HEADER)
  private headerFill = 0
  /** Payload bytes still expected for the current frame. */
  private remaining = 0
  private kind: StreamKind | undefined

  constructor(private readonly emit: (kind: StreamKind, chunk: Uint8Array) => void) {}

  push(chunk: Uint8Array): void {
    let pos = 0
    while (pos < chunk.length) {
      if (this.remaining === 0) {
        const take = Math.min(HEADER - this.headerFill, chunk.length - pos)
        this.header.set(chunk.subarray(pos, pos + take), this.headerFill)
        this.headerFill += take
        pos += take
        if (this.headerFill < HEADER) return
        this.headerFill = 0
        const type = this.header[0]
        // stdin echo (0) only exists with an attached stdin; fold it into stdout if ever seen.
        this.kind = type === 2 ? 'stderr' : 'stdout'
        this.remaining = this.header.readUInt32BE(4)
        continue
      }
      const take = Math.min(this.remaining, chunk.length - pos)
      // A copy: the sink may keep the chunk, and the socket's buffer is not ours.
      this.emit(this.kind!, Buffer.from(chunk.subarray(pos, pos + take)))
      this.remaining -= take
      pos += take
    }
  }

  /** True when the stream stopped in the middle of a frame. */
  get partial(): boolean {
    return this.headerFill > 0 || this.remaining > 0
  }
}
