// Length-prefixed JSON frames over libp2p streams: the framing every direct protocol of
// this project uses. Each frame is a varint length followed by UTF-8 JSON.
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { z } from 'zod'
import { scope } from './scope.js'
import { parseJson, stringifyJson } from '../models/json.js'

/** The largest frame accepted or sent. A job with inline inputs fits well below it. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024
/** How long a peer may take to deliver one expected frame. */
export const FRAME_TIMEOUT_MS = 30_000

export class FrameError extends Error {
  override name = 'FrameError'
}

export type JsonFrames = LengthPrefixedStream<Stream>

export function jsonFrames(stream: Stream, maxFrameBytes = MAX_FRAME_BYTES): JsonFrames {
  // The read buffer must hold one whole frame plus its length prefix, or lpStream aborts
  // the stream before the size check can report the frame as too large.
  return lpStream(stream, {
    maxDataLength: maxFrameBytes,
    maxBufferSize: maxFrameBytes + 16,
    // Five bytes hold any 32-bit length, so an oversized frame is refused by its (readable)
    // length rather than by the size of its prefix.
    maxLengthLength: MAX_PREFIX_BYTES,
    lengthDecoder: boundedVarint(MAX_PREFIX_BYTES),
  })
}

const MAX_PREFIX_BYTES = 5

/**
 * lpStream keeps reading a length prefix for as long as its bytes have the continuation
 * bit set, so an endless run of 0xff would never be refused; this decoder gives up as soon
 * as the prefix is longer than any allowed length needs. RangeError means "need more".
 */
function boundedVarint(maxBytes: number) {
  return (buf: { byteLength: number; get(index: number): number }): number => {
    let value = 0
    for (let i = 0; i < buf.byteLength; i++) {
      if (i >= maxBytes) throw new FrameError(`length prefix is longer than ${maxBytes} bytes`)
      const b = buf.get(i)
      value += (b & 0x7f) * 2 ** (7 * i)
      if ((b & 0x80) === 0) return value
    }
    if (buf.byteLength >= maxBytes) throw new FrameError(`length prefix is longer than ${maxBytes} bytes`)
    throw new RangeError('incomplete length prefix')
  }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeJson(value: unknown, maxFrameBytes = MAX_FRAME_BYTES): Uint8Array {
  // Executions and jobs carry int64 nanosecond times as bigint: keep them exact.
  const bytes = encoder.encode(stringifyJson(value))
  if (bytes.byteLength > maxFrameBytes)
    throw new FrameError(`message of ${bytes.byteLength} bytes exceeds the ${maxFrameBytes}-byte frame limit`)
  return bytes
}

export async function writeJson(
  lp: JsonFrames,
  value: unknown,
  opts: { signal?: AbortSignal; maxFrameBytes?: number } = {},
): Promise<void> {
  await lp.write(encodeJson(value, opts.maxFrameBytes), { signal: opts.signal })
}

/**
 * Reads one frame and parses its JSON. `timeoutMs` bounds the wait for this frame only;
 * omit it for streams that may stay quiet for long (a followed log). Every failure is a
 * FrameError whose message says what was wrong with the frame.
 */
export async function readJson(
  lp: JsonFrames,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<unknown> {
  const sc = scope({ timeoutMs: opts.timeoutMs, parents: [opts.signal] })
  let frame
  try {
    frame = await lp.read({ signal: sc.signal })
  } catch (err) {
    const e = err as Error
    if (sc.timedOut()) throw new FrameError(`no frame within ${opts.timeoutMs} ms`, { cause: err })
    if (opts.signal?.aborted) throw err
    if (err instanceof FrameError) throw new FrameError(`frame rejected: ${e.message}`)
    switch (e.name) {
      case 'InvalidDataLengthError':
      case 'InvalidDataLengthLengthError':
      case 'InvalidMessageLengthError':
        throw new FrameError(`frame rejected: ${e.message}`, { cause: err })
      case 'UnexpectedEOFError':
        throw new FrameError('stream ended before a complete frame arrived', { cause: err })
      default:
        throw new FrameError(`stream failed: ${e.message}`, { cause: err })
    }
  } finally {
    sc.dispose()
  }
  let text: string
  try {
    text = decoder.decode(frame.subarray())
  } catch {
    throw new FrameError('frame is not valid UTF-8')
  }
  try {
    return parseJson(text)
  } catch (err) {
    throw new FrameError(`frame is not valid JSON: ${(err as Error).message}`)
  }
}

/** A zod error as one line that names each bad field. */
export function describeZodError(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(message)'}: ${i.message}`)
    .join('; ')
}

/** The reply to a one-request stream. */
const ItemAckSchema = z.union([
  z.object({ ok: z.literal(true) }),
  z.object({ ok: z.literal(false), error: z.string() }),
])
/** The answer to a request frame; a batch request gets one result per message, in order. */
export const AckSchema = z.union([
  z.object({ ok: z.literal(true), results: z.array(ItemAckSchema).optional() }),
  z.object({ ok: z.literal(false), error: z.string() }),
])
export type Ack = z.infer<typeof AckSchema>
export type ItemAck = z.infer<typeof ItemAckSchema>

/** Messages sent to one peer in the same event-loop turn travel in one frame. */
export const MAX_BATCH = 128
export const BatchFrameSchema = z.object({ batch: z.array(z.unknown()).min(1).max(MAX_BATCH) })

/** Frames of a log stream after the LogRequest: entries, then one terminator. */
export const LogEntryFrameSchema = z.object({ Type: z.union([z.literal(1), z.literal(2)]), Line: z.string() })
export const LogEndFrameSchema = z.object({ end: z.literal(true) })
export const LogErrorFrameSchema = z.object({ error: z.string() })
