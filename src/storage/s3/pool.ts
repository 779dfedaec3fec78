// A bounded worker pool: many small objects download (or upload) far faster a few at a time,
// and the first failure must stop the rest instead of letting them fill the disk.

export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  fn: (item: T, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  signal.throwIfAborted()
  const ctrl = new AbortController()
  const onAbort = () => ctrl.abort(signal.reason)
  signal.addEventListener('abort', onAbort, { once: true })
  let next = 0
  let failure: { err: unknown } | undefined
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++]!
      try {
        await fn(item, ctrl.signal)
      } catch (err) {
        if (!failure) {
          failure = { err }
          ctrl.abort(err)
        }
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker))
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
  if (failure) throw failure.err
  signal.throwIfAborted()
}
