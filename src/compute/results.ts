// An execution's results directory (bacalhau-api.md §6.1–6.2): full stdout/stderr files
// capped at 1 GiB each, an exitCode file, and the 2 KiB prefixes reported as RunOutput.
import fs from 'node:fs'
import path from 'node:path'
import type { OutputSink } from '../executors/types.js'
import type { RunCommandResult } from '../models/execution.js'

export const MAX_OUTPUT_FILE_BYTES = 1024 * 1024 * 1024
export const RUN_OUTPUT_PREFIX_BYTES = 2048
/** Bacalhau writes at most 4 bytes of exit code text; longer values are cut, not rejected. */
export const EXIT_CODE_MAX_BYTES = 4

export interface ResultsWriterOptions {
  /** Cap on each of the stdout and stderr files; bytes beyond it are dropped. */
  maxFileBytes?: number
  /** How many leading bytes of each stream RunOutput reports. */
  prefixBytes?: number
  /** The caller already created resultsDir (skips a syscall per execution). */
  dirExists?: boolean
}

class StreamCapture {
  private fd: number | undefined
  private written = 0
  private produced = 0
  private readonly prefix: Buffer
  private prefixLen = 0

  constructor(
    file: string,
    private readonly maxFileBytes: number,
    prefixBytes: number,
  ) {
    this.prefix = Buffer.alloc(prefixBytes)
    this.fd = fs.openSync(file, 'a')
  }

  write(chunk: Uint8Array, onError: (err: Error) => void): void {
    if (chunk.length === 0) return
    this.produced += chunk.length
    if (this.prefixLen < this.prefix.length) {
      const n = Math.min(chunk.length, this.prefix.length - this.prefixLen)
      this.prefix.set(chunk.subarray(0, n), this.prefixLen)
      this.prefixLen += n
    }
    if (this.fd === undefined || this.written >= this.maxFileBytes) return
    const part = chunk.subarray(0, Math.min(chunk.length, this.maxFileBytes - this.written))
    try {
      // Synchronous writes keep chunks in call order and memory bounded however fast the task writes.
      let off = 0
      while (off < part.length) off += fs.writeSync(this.fd, part, off, part.length - off)
      this.written += part.length
    } catch (err) {
      // A full disk must not crash the run: the file stops growing, RunOutput still reports.
      this.written = this.maxFileBytes
      onError(err as Error)
    }
  }

  close(): void {
    if (this.fd === undefined) return
    const fd = this.fd
    this.fd = undefined
    fs.closeSync(fd)
  }

  get truncated(): boolean {
    return this.produced > this.prefix.length
  }

  /**
   * The prefix as text. When the stream was cut, a multi-byte character split at the cut is
   * dropped (stream-mode decoding holds back an incomplete tail) instead of becoming U+FFFD;
   * when the stream really ended there, the bad tail is shown as U+FFFD, as it is in the file.
   */
  text(): string {
    const bytes = this.prefix.subarray(0, this.prefixLen)
    // ignoreBOM keeps a leading BOM, as Go's byte-for-byte copy would.
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes, { stream: this.truncated })
  }
}

/**
 * Receives a task's output (it is an OutputSink) and lays out the results directory.
 * Calls after finish() are ignored.
 */
export class ResultsWriter implements OutputSink {
  readonly resultsDir: string
  private readonly out: StreamCapture
  private readonly err: StreamCapture
  private finished = false
  private firstError: Error | undefined

  constructor(resultsDir: string, opts: ResultsWriterOptions = {}) {
    const maxFileBytes = opts.maxFileBytes ?? MAX_OUTPUT_FILE_BYTES
    const prefixBytes = opts.prefixBytes ?? RUN_OUTPUT_PREFIX_BYTES
    this.resultsDir = resultsDir
    if (!opts.dirExists) fs.mkdirSync(resultsDir, { recursive: true })
    this.out = new StreamCapture(path.join(resultsDir, 'stdout'), maxFileBytes, prefixBytes)
    try {
      this.err = new StreamCapture(path.join(resultsDir, 'stderr'), maxFileBytes, prefixBytes)
    } catch (e) {
      this.out.close()
      throw e
    }
  }

  /** The first error writing stdout/stderr, if any (the data after it was dropped). */
  get writeError(): Error | undefined {
    return this.firstError
  }

  stdout(chunk: Uint8Array | string): void {
    if (!this.finished) this.out.write(toBytes(chunk), this.onError)
  }

  stderr(chunk: Uint8Array | string): void {
    if (!this.finished) this.err.write(toBytes(chunk), this.onError)
  }

  /** Closes the output files, writes `exitCode`, and returns the execution's RunOutput. */
  finish(exitCode: number): RunCommandResult {
    if (this.finished) throw new Error('results writer: already finished or closed')
    this.close()
    writeExitCode(this.resultsDir, exitCode)
    return {
      Stdout: this.out.text(),
      StdoutTruncated: this.out.truncated,
      stderr: this.err.text(),
      StderrTruncated: this.err.truncated,
      ExitCode: exitCode,
      ErrorMsg: '',
    }
  }

  /** Closes the files without writing `exitCode` (a run that never produced one). */
  close(): void {
    this.finished = true
    this.out.close()
    this.err.close()
  }

  private readonly onError = (err: Error): void => {
    this.firstError ??= err
  }
}

/** Writes `<resultsDir>/exitCode`: decimal text, no newline, at most 4 bytes like Bacalhau. */
export function writeExitCode(resultsDir: string, exitCode: number): void {
  const text = String(Math.trunc(exitCode)).slice(0, EXIT_CODE_MAX_BYTES)
  fs.writeFileSync(path.join(resultsDir, 'exitCode'), text)
}

function toBytes(chunk: Uint8Array | string): Uint8Array {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk
}
