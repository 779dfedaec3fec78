// Execution output for `job logs`: every chunk is appended to a framed file as it is
// produced, so readers can replay from the start and follow live writes with bounded
// memory, and logs outlive a restart of the node.
import { EventEmitter } from 'node:events'
import fs from 'node:fs'
import type { LogEntry } from '../protocols/messages.js'

const HEADER = 5 // 1 byte stream type + 4 bytes length

export class ExecutionLog {
  private fd: number | undefined
  private readonly events = new EventEmitter()
  private closed = false

  /** The file's folder must exist. */
  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'a')
    this.events.setMaxListeners(0)
  }

  append(type: 1 | 2, chunk: Uint8Array): void {
    if (this.fd === undefined || chunk.length === 0) return
    const head = Buffer.alloc(HEADER)
    head.writeUInt8(type, 0)
    head.writeUInt32BE(chunk.length, 1)
    fs.writeSync(this.fd, Buffer.concat([head, chunk]))
    this.events.emit('change')
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd)
    this.fd = undefined
    this.closed = true
    this.events.emit('change')
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Waits until more output arrives, the log closes, or the signal aborts. */
  waitForChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.events.off('change', done)
        signal.removeEventListener('abort', done)
        resolve()
      }
      this.events.once('change', done)
      signal.addEventListener('abort', done, { once: true })
    })
  }
}

/** Reads framed entries from a log file; follows it while `live` is still open. */
export async function* readLog(
  file: string,
  opts: { follow: boolean; tail: boolean; live?: ExecutionLog },
  signal: AbortSignal,
): AsyncGenerator<LogEntry> {
  if (!fs.existsSync(file)) return
  const fd = fs.openSync(file, 'r')
  try {
    let offset = opts.tail ? fs.fstatSync(fd).size : 0
    let pending = Buffer.alloc(0)
    const buf = Buffer.alloc(64 * 1024)
    while (!signal.aborted) {
      const n = fs.readSync(fd, buf, 0, buf.length, offset)
      if (n > 0) {
        offset += n
        pending = Buffer.concat([pending, buf.subarray(0, n)])
        while (pending.length >= HEADER) {
          const len = pending.readUInt32BE(1)
          if (pending.length < HEADER + len) break
          const type = pending.readUInt8(0) === 2 ? 2 : 1
          yield { Type: type, Line: pending.subarray(HEADER, HEADER + len).toString('utf8') }
          pending = pending.subarray(HEADER + len)
        }
        continue
      }
      const live = opts.live
      if (!opts.follow || !live || live.isClosed) {
        // One last look: the writer may have closed right after our read.
        if (fs.fstatSync(fd).size > offset) continue
        return
      }
      // Listen before re-checking, so a write landing in between is not missed.
      const changed = live.waitForChange(signal)
      if (fs.fstatSync(fd).size > offset) continue
      await changed
    }
  } finally {
    fs.closeSync(fd)
  }
}
