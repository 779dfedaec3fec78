// The compute node's execution store: what it was asked to run and how far it got.
import { decodeTimed, encodeTimed, type TimedRow } from '../store/codec.js'
import { GroupCommitter } from '../store/group-commit.js'
import type { Db } from '../store/sqlite.js'
import type { Statement } from 'better-sqlite3'
import type { Execution } from '../models/execution.js'

/** A local execution: the orchestrator's Execution (with its Job) plus local state. */
export interface LocalExecution {
  execution: Execution
  state: number
  message: string
  CreateTime: bigint
  ModifyTime: bigint
}

export class ExecutionStore {
  private readonly group: GroupCommitter
  private readonly putStmt: Statement
  private readonly getStmt: Statement
  private readonly allStmt: Statement

  constructor(private readonly db: Db) {
    db.exec(`CREATE TABLE IF NOT EXISTS local_executions (
      id TEXT PRIMARY KEY, state INTEGER NOT NULL,
      create_time INTEGER NOT NULL, modify_time INTEGER NOT NULL, data TEXT NOT NULL)`)
    this.group = new GroupCommitter(db)
    this.putStmt = db.prepare(
      `INSERT INTO local_executions (id,state,create_time,modify_time,data) VALUES (@id,@state,@create_time,@modify_time,@data)
       ON CONFLICT(id) DO UPDATE SET state=excluded.state, modify_time=excluded.modify_time, data=excluded.data`,
    )
    this.getStmt = db
      .prepare('SELECT data, create_time, modify_time FROM local_executions WHERE id = ?')
      .safeIntegers(true)
    this.allStmt = db
      .prepare('SELECT data, create_time, modify_time FROM local_executions WHERE state NOT IN (4,8,9,10,11)')
      .safeIntegers(true)
  }

  /** Commits pending writes at once (shutdown). */
  commit(): void {
    this.group.commit()
  }

  private encode(rec: LocalExecution) {
    const { execution, ...rest } = rec
    const { CreateTime: _c, ModifyTime: _m, ...exec } = execution
    const job = exec.Job
      ? {
          ...exec.Job,
          CreateTime: exec.Job.CreateTime.toString(),
          ModifyTime: exec.Job.ModifyTime.toString(),
        }
      : undefined
    return encodeTimed({
      ...rest,
      execution: {
        ...exec,
        Job: job,
        ExecCreateTime: execution.CreateTime.toString(),
        ExecModifyTime: execution.ModifyTime.toString(),
      },
    } as unknown as LocalExecution)
  }

  private decode(row: TimedRow): LocalExecution {
    const rec = decodeTimed<any>(row)
    const e = rec.execution
    e.CreateTime = BigInt(e.ExecCreateTime)
    e.ModifyTime = BigInt(e.ExecModifyTime)
    delete e.ExecCreateTime
    delete e.ExecModifyTime
    if (e.Job) {
      e.Job.CreateTime = BigInt(e.Job.CreateTime)
      e.Job.ModifyTime = BigInt(e.Job.ModifyTime)
    }
    return rec as LocalExecution
  }

  put(rec: LocalExecution): void {
    this.group.run(() => this.putStmt.run({ id: rec.execution.ID, state: rec.state, ...this.encode(rec) }))
  }

  get(id: string): LocalExecution | undefined {
    const row = this.getStmt.get(id) as TimedRow | undefined
    return row ? this.decode(row) : undefined
  }

  unfinished(): LocalExecution[] {
    return (this.allStmt.all() as TimedRow[]).map((r) => this.decode(r))
  }
}
