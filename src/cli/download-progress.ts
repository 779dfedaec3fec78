// The byte progress bar of `job get`: one bar per result download on stderr, drawn only
// on a terminal (or on any stream when forced, which is how the tests read it).
import { SingleBar } from 'cli-progress'
import type { Writable } from 'node:stream'

export interface DownloadProgress {
  update(bytes: number): void
  stop(): void
}

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let v = n / 1000
  let i = 0
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return `${v.toFixed(1)} ${units[i]}`
}

/**
 * A bar for one download of `total` bytes (0 when the server did not say: the bar then
 * shows the bytes received and the rate only).
 */
export function downloadProgress(
  label: string,
  total: number,
  opts: { stream?: Writable & { isTTY?: boolean; columns?: number }; force?: boolean } = {},
): DownloadProgress {
  const stream = opts.stream ?? process.stderr
  const drawable = opts.force || (stream.isTTY === true && (stream.columns ?? 0) > 0)
  if (!drawable) return { update: () => {}, stop: () => {} }
  const started = Date.now()
  const known = total > 0
  const bar = new SingleBar({
    stream: stream as NodeJS.WritableStream,
    noTTYOutput: opts.force === true,
    // Redraw at most 10 times a second; a forced (non-terminal) stream gets one line per redraw.
    fps: 10,
    notTTYSchedule: 100,
    hideCursor: stream.isTTY === true,
    clearOnComplete: false,
    barsize: 30,
    format: known ? `${label} [{bar}] {percentage}% | {done} / {size} | {rate}` : `${label} {done} | {rate}`,
    formatValue: (v) => String(v),
  })
  const payload = (bytes: number) => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001)
    return {
      done: formatBytes(bytes),
      size: formatBytes(total),
      rate: `${formatBytes(Math.round(bytes / seconds))}/s`,
    }
  }
  bar.start(known ? total : 1, 0, payload(0))
  let last = 0
  return {
    update(bytes: number) {
      last = bytes
      bar.update(known ? Math.min(bytes, total) : 0, payload(bytes))
    },
    stop() {
      bar.update(known ? Math.min(last, total) : 0, payload(last))
      bar.stop()
    },
  }
}
