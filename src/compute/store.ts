// The compute node's execution store: what it was asked to run and how far it got.
import { decodeTimed, encodeTimed, type TimedRow } from '../store/codec.js'
import type { Db } from '../store/sqlite.js'
import { isTerminalExecutionState } from '../models/enums.js'
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
  constructor(private readonly db: Db) {
    db.exec(`CREATE TABLE IF NOT EXISTS local_executions (
      id TEXT PRIMARY KEY, state INTEGER NOT NULL,
      create_time INTEGER NOT NULL, modify_time INTEGER NOT NULL, data TEXT NOT NULL)`)
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
    this.db
      .prepare(
        `INSERT INTO local_executions (id,state,create_time,modify_time,data) VALUES (@id,@state,@create_time,@modify_time,@data)
         ON CONFLICT(id) DO UPDATE SET state=excluded.state, modify_time=excluded.modify_time, data=excluded.data`,
      )
      .run({ id: rec.execution.ID, state: rec.state, ...this.encode(rec) })
  }

  get(id: string): LocalExecution | undefined {
    const row = this.db
      .prepare('SELECT data, create_time, modify_time FROM local_executions WHERE id = ?')
      .safeIntegers(true)
      .get(id) as TimedRow | undefined
    return row ? this.decode(row) : undefined
  }

  unfinished(): LocalExecution[] {
    const rows = this.db
      .prepare('SELECT data, create_time, modify_time FROM local_executions')
      .safeIntegers(true)
      .all() as TimedRow[]
    return rows.map((r) => this.decode(r)).filter((r) => !isTerminalExecutionState(r.state))
  }
}
