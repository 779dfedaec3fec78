// Group commit: writes made during one turn of the event loop share one SQLite
// transaction, committed on the next turn. Each unit of work runs in its own savepoint,
// so a failing one rolls back alone. Callers that promise durability (an API answer)
// wait for `flushed()`; work that must follow the commit (messages to other nodes)
// goes through `afterCommit()`.
import type { Db } from './sqlite.js'

export class GroupCommitter {
  private scheduled = false
  private waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = []
  private after: Array<() => void> = []

  constructor(private readonly db: Db) {}

  /** Runs fn inside the current group transaction (a savepoint of it). */
  run<T>(fn: () => T): T {
    if (!this.db.inTransaction) {
      this.db.exec('BEGIN')
      this.schedule()
    }
    return this.db.transaction(fn)()
  }

  /** Resolves once everything written so far is committed. */
  flushed(): Promise<void> {
    if (!this.db.inTransaction) return Promise.resolve()
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }))
  }

  /** Runs cb after the pending commit (at once if nothing is pending). */
  afterCommit(cb: () => void): void {
    if (!this.db.inTransaction) cb()
    else this.after.push(cb)
  }

  /** Commits now; used on shutdown. */
  commit(): void {
    const waiters = this.waiters
    const after = this.after
    this.waiters = []
    this.after = []
    try {
      if (this.db.inTransaction) this.db.exec('COMMIT')
    } catch (err) {
      try {
        if (this.db.inTransaction) this.db.exec('ROLLBACK')
      } catch {
        /* the connection is gone */
      }
      for (const w of waiters) w.reject(err)
      return
    }
    for (const w of waiters) w.resolve()
    for (const cb of after) cb()
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.commit()
    })
  }
}
