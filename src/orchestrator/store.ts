// The orchestrator's job store: jobs (with version snapshots), executions, evaluations
// and history, in one SQLite database. Every multi-row change runs in a transaction.
import type { Statement } from 'better-sqlite3'
import { decodeTimed, encodeTimed, type TimedRow } from '../store/codec.js'
import { GroupCommitter } from '../store/group-commit.js'
import type { Db } from '../store/sqlite.js'
import type { Evaluation, Execution, JobHistory } from '../models/execution.js'
import type { Job } from '../models/job.js'

const schema = `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, namespace TEXT NOT NULL, state TEXT NOT NULL,
  create_time INTEGER NOT NULL, modify_time INTEGER NOT NULL, data TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_name ON jobs(namespace, name);
CREATE INDEX IF NOT EXISTS jobs_create ON jobs(create_time);
CREATE INDEX IF NOT EXISTS jobs_modify ON jobs(modify_time);
CREATE TABLE IF NOT EXISTS job_versions (
  job_id TEXT NOT NULL, version INTEGER NOT NULL,
  create_time INTEGER NOT NULL, modify_time INTEGER NOT NULL, data TEXT NOT NULL,
  PRIMARY KEY (job_id, version));
CREATE TABLE IF NOT EXISTS executions (
  id TEXT PRIMARY KEY, job_id TEXT NOT NULL, node_id TEXT NOT NULL, state INTEGER NOT NULL,
  create_time INTEGER NOT NULL, modify_time INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS executions_job ON executions(job_id, create_time);
CREATE TABLE IF NOT EXISTS evaluations (
  id TEXT PRIMARY KEY, job_id TEXT NOT NULL, status TEXT NOT NULL,
  create_time INTEGER NOT NULL, modify_time INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS evaluations_status ON evaluations(status);
CREATE TABLE IF NOT EXISTS nodes (
  id TEXT PRIMARY KEY, boot_id TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS history (
  job_id TEXT NOT NULL, seq INTEGER NOT NULL, execution_id TEXT, data TEXT NOT NULL,
  PRIMARY KEY (job_id, seq));
`

type JobRow = TimedRow & { id: string }

export class JobStore {
  private readonly s: Record<string, Statement>
  private readonly group: GroupCommitter

  constructor(readonly db: Db) {
    this.group = new GroupCommitter(db)
    db.exec(schema)
    const p = (sql: string) => db.prepare(sql)
    const big = (st: Statement) => st.safeIntegers(true)
    this.s = {
      insertJob: p(
        'INSERT INTO jobs (id,name,namespace,state,create_time,modify_time,data) VALUES (@id,@name,@namespace,@state,@create_time,@modify_time,@data)',
      ),
      updateJob: p(
        'UPDATE jobs SET state=@state, modify_time=@modify_time, create_time=@create_time, data=@data WHERE id=@id',
      ),
      getJob: big(p('SELECT data, create_time, modify_time FROM jobs WHERE id = ?')),
      jobsByPrefix: p('SELECT id FROM jobs WHERE substr(id, 1, length(@p)) = @p LIMIT 2'),
      jobByName: p('SELECT id FROM jobs WHERE namespace = ? AND name = ?'),
      jobsByName: p('SELECT id FROM jobs WHERE name = ? LIMIT 2'),
      nonTerminalJobs: p("SELECT id FROM jobs WHERE state NOT IN ('Completed','Failed','Stopped')"),
      putVersion: p(
        'INSERT OR REPLACE INTO job_versions (job_id,version,create_time,modify_time,data) VALUES (@id,@version,@create_time,@modify_time,@data)',
      ),
      getVersion: big(
        p('SELECT data, create_time, modify_time FROM job_versions WHERE job_id = ? AND version = ?'),
      ),
      listVersions: big(
        p('SELECT data, create_time, modify_time FROM job_versions WHERE job_id = ? ORDER BY version'),
      ),
      insertExec: p(
        'INSERT INTO executions (id,job_id,node_id,state,create_time,modify_time,data) VALUES (@id,@job_id,@node_id,@state,@create_time,@modify_time,@data)',
      ),
      updateExec: p('UPDATE executions SET state=@state, modify_time=@modify_time, data=@data WHERE id=@id'),
      getExec: big(p('SELECT data, create_time, modify_time FROM executions WHERE id = ?')),
      execsByJob: big(
        p('SELECT data, create_time, modify_time FROM executions WHERE job_id = ? ORDER BY create_time, id'),
      ),
      liveExecs: big(
        p('SELECT data, create_time, modify_time FROM executions WHERE state NOT IN (4,8,9,10,11)'),
      ),
      insertEval: p(
        'INSERT INTO evaluations (id,job_id,status,create_time,modify_time,data) VALUES (@id,@job_id,@status,@create_time,@modify_time,@data)',
      ),
      updateEval: p(
        'UPDATE evaluations SET status=@status, modify_time=@modify_time, data=@data WHERE id=@id',
      ),
      pendingEvals: big(
        p(
          "SELECT data, create_time, modify_time FROM evaluations WHERE status = 'pending' ORDER BY create_time",
        ),
      ),
      lastSeq: p('SELECT COALESCE(MAX(seq), 0) AS seq FROM history WHERE job_id = ?'),
      insertHistory: p('INSERT INTO history (job_id,seq,execution_id,data) VALUES (?,?,?,?)'),
      history: p('SELECT data FROM history WHERE job_id = ? ORDER BY seq'),
      completeEval: p("UPDATE evaluations SET status = 'complete', modify_time = ? WHERE id = ?"),
    }
  }

  /** Runs fn atomically; changes are group-committed on the next event-loop turn. */
  tx<T>(fn: () => T): T {
    return this.group.run(fn)
  }

  /** Resolves once every change made so far is durable. */
  flushed(): Promise<void> {
    return this.group.flushed()
  }

  /** Runs cb once the changes made so far are committed. */
  afterCommit(cb: () => void): void {
    this.group.afterCommit(cb)
  }

  /** Commits pending changes at once (shutdown). */
  commit(): void {
    this.group.commit()
  }

  // --- jobs ---

  private jobParams(job: Job) {
    return {
      id: job.ID,
      name: job.Name,
      namespace: job.Namespace,
      state: job.State.StateType,
      ...encodeTimed(job),
    }
  }

  insertJob(job: Job): void {
    this.s.insertJob.run(this.jobParams(job))
    this.s.putVersion.run({ version: job.Version, ...this.jobParams(job) })
  }

  /** Saves a changed job; the snapshot of its current version follows it. */
  updateJob(job: Job): void {
    const params = this.jobParams(job)
    this.s.updateJob.run(params)
    this.s.putVersion.run({ version: job.Version, ...params })
  }

  getJob(id: string): Job | undefined {
    const row = this.s.getJob.get(id) as JobRow | undefined
    return row ? decodeTimed<Job>(row) : undefined
  }

  jobVersion(id: string, version: number): Job | undefined {
    const row = this.s.getVersion.get(id, version) as TimedRow | undefined
    return row ? decodeTimed<Job>(row) : undefined
  }

  jobVersions(id: string): Job[] {
    return (this.s.listVersions.all(id) as TimedRow[]).map((r) => decodeTimed<Job>(r))
  }

  jobIdsByPrefix(prefix: string): string[] {
    return (this.s.jobsByPrefix.all({ p: prefix }) as { id: string }[]).map((r) => r.id)
  }

  jobIdByName(namespace: string, name: string): string | undefined {
    return (this.s.jobByName.get(namespace, name) as { id: string } | undefined)?.id
  }

  nonTerminalJobIds(): string[] {
    return (this.s.nonTerminalJobs.all() as { id: string }[]).map((r) => r.id)
  }

  /** Lists jobs sorted by create or modify time; the caller pages and filters. */
  listJobs(opts: { orderBy: 'create_time' | 'modify_time'; reverse: boolean; namespace?: string }): Job[] {
    const where = opts.namespace ? 'WHERE namespace = ?' : ''
    const sql = `SELECT data, create_time, modify_time FROM jobs ${where} ORDER BY ${opts.orderBy} ${
      opts.reverse ? 'DESC' : 'ASC'
    }, id ${opts.reverse ? 'DESC' : 'ASC'}`
    const st = this.db.prepare(sql).safeIntegers(true)
    const rows = (opts.namespace ? st.all(opts.namespace) : st.all()) as TimedRow[]
    return rows.map((r) => decodeTimed<Job>(r))
  }

  // --- executions (stored without the embedded Job copy; it is re-attached on read) ---

  private execParams(e: Execution) {
    const { Job: _job, ...rest } = e
    return {
      id: e.ID,
      job_id: e.JobID,
      node_id: e.NodeID,
      state: e.ComputeState.StateType,
      ...encodeTimed(rest as Execution),
    }
  }

  insertExecution(e: Execution): void {
    this.s.insertExec.run(this.execParams(e))
  }

  updateExecution(e: Execution): void {
    this.s.updateExec.run(this.execParams(e))
  }

  getExecution(id: string): Execution | undefined {
    const row = this.s.getExec.get(id) as TimedRow | undefined
    return row ? decodeTimed<Execution>(row) : undefined
  }

  executionsForJob(jobId: string): Execution[] {
    return (this.s.execsByJob.all(jobId) as TimedRow[]).map((r) => decodeTimed<Execution>(r))
  }

  liveExecutions(): Execution[] {
    return (this.s.liveExecs.all() as TimedRow[]).map((r) => decodeTimed<Execution>(r))
  }

  // --- evaluations ---

  insertEvaluation(ev: Evaluation): void {
    this.s.insertEval.run({ id: ev.ID, job_id: ev.JobID, status: ev.Status, ...encodeTimed(ev) })
  }

  completeEvaluation(id: string, now: bigint): void {
    this.s.completeEval.run(now, id)
  }

  updateEvaluation(ev: Evaluation): void {
    this.s.updateEval.run({ id: ev.ID, status: ev.Status, ...encodeTimed(ev) })
  }

  pendingEvaluations(): Evaluation[] {
    return (this.s.pendingEvals.all() as TimedRow[]).map((r) => decodeTimed<Evaluation>(r))
  }

  // --- node records (membership and the last boot seen, so restarts are detected) ---

  saveNode(id: string, bootId: string, state: unknown): void {
    this.db
      .prepare(
        'INSERT INTO nodes (id, boot_id, data) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET boot_id=excluded.boot_id, data=excluded.data',
      )
      .run(id, bootId, JSON.stringify(state))
  }

  deleteNode(id: string): void {
    this.db.prepare('DELETE FROM nodes WHERE id = ?').run(id)
  }

  loadNodes(): Array<{ id: string; bootId: string; state: unknown }> {
    return (
      this.db.prepare('SELECT id, boot_id, data FROM nodes').all() as {
        id: string
        boot_id: string
        data: string
      }[]
    ).map((r) => ({ id: r.id, bootId: r.boot_id, state: JSON.parse(r.data) }))
  }

  // --- history ---

  appendHistory(entry: Omit<JobHistory, 'SeqNum'>): JobHistory {
    const seq = (this.s.lastSeq.get(entry.JobID) as { seq: number }).seq + 1
    const full: JobHistory = { SeqNum: seq, ...entry }
    this.s.insertHistory.run(entry.JobID, seq, entry.ExecutionID ?? null, JSON.stringify(full))
    return full
  }

  history(jobId: string): JobHistory[] {
    return (this.s.history.all(jobId) as { data: string }[]).map((r) => JSON.parse(r.data) as JobHistory)
  }
}
