// Evaluation queue: evaluations are coalesced per job (one scheduling pass in flight per
// job) and drained on the next turn of the event loop. Delayed evaluations wait on a
// timer that stop() cancels.
export class EvaluationBroker {
  private readonly ready = new Map<string, string[]>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private scheduled = false
  private stopped = false

  constructor(private readonly process: (jobId: string, evalIds: string[]) => void) {}

  enqueue(jobId: string, evalId: string, delayMs = 0): void {
    if (this.stopped) return
    if (delayMs > 0) {
      const t = setTimeout(() => {
        this.timers.delete(t)
        this.enqueue(jobId, evalId)
      }, delayMs)
      t.unref()
      this.timers.add(t)
      return
    }
    const list = this.ready.get(jobId)
    if (list) list.push(evalId)
    else this.ready.set(jobId, [evalId])
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => this.drain())
    }
  }

  private drain(): void {
    this.scheduled = false
    // Take a snapshot: work enqueued while draining runs on the next turn, so I/O
    // (API requests, compute messages) interleaves with scheduling.
    const batch = [...this.ready]
    this.ready.clear()
    for (const [jobId, evalIds] of batch) {
      if (this.stopped) return
      this.process(jobId, evalIds)
    }
  }

  stop(): void {
    this.stopped = true
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    this.ready.clear()
  }
}
