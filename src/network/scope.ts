// An AbortSignal for one operation, fired by its own timeout or by any of a few parent
// signals. AbortSignal.any() is not used on purpose: on Node 20 every composite made from a
// long-lived parent (such as a transport's stop signal) stays referenced by that parent,
// so one per request would leak. Here the link is a listener removed by dispose().

export class TimeoutError extends Error {
  override name = 'TimeoutError'
}

export interface Scope {
  readonly signal: AbortSignal
  /** True when the scope's own timeout fired (not a parent). */
  timedOut(): boolean
  /** Unlinks from the parents and clears the timer; call when the operation ends. */
  dispose(): void
}

export function scope(opts: { timeoutMs?: number; parents?: Array<AbortSignal | undefined> }): Scope {
  const ac = new AbortController()
  let timedOut = false
  const parents = (opts.parents ?? []).filter((s): s is AbortSignal => s !== undefined)
  const onParent = (evt: Event) => ac.abort((evt.target as AbortSignal).reason)
  let timer: NodeJS.Timeout | undefined
  const dispose = () => {
    if (timer) clearTimeout(timer)
    for (const p of parents) p.removeEventListener('abort', onParent)
  }
  for (const p of parents) {
    if (p.aborted) {
      ac.abort(p.reason)
      break
    }
    p.addEventListener('abort', onParent, { once: true })
  }
  if (!ac.signal.aborted && opts.timeoutMs !== undefined) {
    timer = setTimeout(() => {
      timedOut = true
      ac.abort(new TimeoutError(`timed out after ${opts.timeoutMs} ms`))
    }, opts.timeoutMs)
    timer.unref()
  }
  if (ac.signal.aborted) dispose()
  else ac.signal.addEventListener('abort', dispose, { once: true })
  return { signal: ac.signal, timedOut: () => timedOut, dispose }
}
