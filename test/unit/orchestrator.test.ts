import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ExecutionStateType as ES } from '../../src/models/enums.js'
import type { Executor, RunRequest, RunResult } from '../../src/executors/types.js'
import { NoopExecutor } from '../../src/executors/noop/index.js'
import { BacalhauError } from '../../src/models/errors.js'
import { JobSchema } from '../../src/models/job.js'
import { noopJob, startCluster, type TestCluster } from '../helpers/cluster.js'

describe('orchestrator with one compute node', () => {
  let c: TestCluster
  before(async () => {
    c = await startCluster()
  })
  after(() => c.stop())

  it('runs a noop job to Completed with history for each transition', async () => {
    const id = await c.submit(noopJob({ Name: 'hello' }, { Stdout: 'hi\n' }))
    const job = await c.waitForState(id, ['Completed', 'Failed'])
    assert.equal(job.State.StateType, 'Completed')
    assert.equal(job.Name, 'hello')
    assert.equal(job.Meta['bacalhau.org/orchestrator.id'], 'n-orchestrator')
    const execs = c.orchestrator.jobExecutions(id, {}).Items
    assert.equal(execs.length, 1)
    assert.equal(execs[0].ComputeState.StateType, ES.Completed)
    assert.equal(execs[0].DesiredState.StateType, 2)
    assert.equal(execs[0].RunOutput.Stdout, 'hi\n')
    assert.equal(execs[0].Job?.ID, id)
    const messages = c.orchestrator.jobHistory(id, {}).Items.map((h) => `${h.Type}:${h.Event.Message}`)
    assert.deepEqual(
      messages.filter((m) => m.startsWith('JobLevel')),
      ['JobLevel:Job submitted', 'JobLevel:Running', 'JobLevel:Completed'],
    )
    assert.ok(messages.includes('ExecutionLevel:Completed successfully'))
    assert.ok(messages.some((m) => m.startsWith('ExecutionLevel:Requested execution on n-comput')))
  })

  it('looks jobs up by name, full ID and ID prefix, and refuses unknown ones', async () => {
    const id = await c.submit(noopJob({ Name: 'lookup-me' }))
    assert.equal(c.orchestrator.getJob('lookup-me').ID, id)
    assert.equal(c.orchestrator.getJob(id).ID, id)
    assert.equal(c.orchestrator.getJob(id.slice(0, 10)).ID, id)
    assert.throws(
      () => c.orchestrator.getJob('j-doesnotexist'),
      (e: BacalhauError) => e.status === 404,
    )
  })

  it('rejects invalid submissions with messages that name the problem, storing nothing', async () => {
    const before = c.orchestrator.listJobs({}).Items.length
    await assert.rejects(
      c.orchestrator.submitJob({ job: JobSchema.parse({ Type: 'weird', Tasks: [] }), force: false }),
      (e: BacalhauError) =>
        e.status === 400 &&
        /invalid job type: "weird"/.test(e.message) &&
        /missing job tasks/.test(e.message),
    )
    await assert.rejects(
      c.orchestrator.submitJob({
        job: JobSchema.parse({
          Type: 'batch',
          Tasks: [{ Name: 't', Engine: { Type: 'noop' }, Resources: { CPU: 'lots' } }],
        }),
        force: false,
      }),
      /invalid CPU value: lots/,
    )
    await assert.rejects(
      c.orchestrator.submitJob({
        job: JobSchema.parse({
          Type: 'batch',
          Tasks: [{ Name: 't', Engine: { Type: 'noop' }, ResultPaths: [{ Name: 'o', Path: '/o' }] }],
        }),
        force: false,
      }),
      /publisher must be set if result paths are set/,
    )
    assert.equal(c.orchestrator.listJobs({}).Items.length, before)
  })

  it('treats a re-submission under the same name as an update, and refuses an identical one', async () => {
    const id = await c.submit(noopJob({ Name: 'versioned' }))
    await c.waitForState(id, ['Completed'])
    await assert.rejects(c.submit(noopJob({ Name: 'versioned' })), /no changes detected/)
    const id2 = await c.submit(noopJob({ Name: 'versioned', Labels: { v: '2' } }))
    assert.equal(id2, id)
    const job = await c.waitForState(id, ['Completed'])
    assert.equal(job.Version, 2)
    assert.equal(c.orchestrator.jobVersions(id).Items.length, 2)
  })

  it('stops a running job, cancels its execution, and refuses to stop a completed job', async () => {
    const id = await c.submit(noopJob({}, { SleepMs: 10_000 }))
    await c.waitForState(id, ['Running'])
    const { EvaluationID } = await c.orchestrator.stopJob(id, 'enough')
    assert.ok(EvaluationID)
    const job = await c.waitForState(id, ['Stopped'])
    assert.equal(job.State.Message, 'enough')
    await waitFor(() => c.orchestrator.jobExecutions(id, {}).Items[0].ComputeState.StateType === ES.Cancelled)
    assert.deepEqual(await c.orchestrator.stopJob(id, ''), { EvaluationID: '' })
    const done = await c.submit(noopJob())
    await c.waitForState(done, ['Completed'])
    await assert.rejects(c.orchestrator.stopJob(done, ''), /cannot stop job in state Completed/)
  })

  it('fails a job that needs more than any node allows, saying why', async () => {
    const id = await c.submit({
      ...noopJob(),
      Tasks: [{ Name: 'big', Engine: { Type: 'noop' }, Resources: { Memory: '500gb' } }],
    })
    const job = await c.waitForState(id, ['Failed', 'Completed'])
    assert.equal(job.State.StateType, 'Failed')
    assert.match(
      job.State.Message ?? '',
      /not enough nodes to run job. requested: 1, available: 1, suitable: 0/,
    )
    assert.match(job.State.Message ?? '', /more resources than the node allows/)
  })

  it('fails an execution that exceeds its timeout and then the job once retries run out', async () => {
    const id = await c.submit({
      ...noopJob({}, { SleepMs: 10_000 }),
      Tasks: [
        {
          Name: 't',
          Engine: { Type: 'noop', Params: { SleepMs: 10_000 } },
          Timeouts: { ExecutionTimeout: 1 },
        },
      ],
    })
    const job = await c.waitForState(id, ['Failed', 'Completed'], 15_000)
    assert.equal(job.State.StateType, 'Failed')
    const execs = c.orchestrator.jobExecutions(id, {}).Items
    assert.ok(execs.length >= 1)
    assert.ok(execs.every((e) => e.ComputeState.StateType === ES.Failed))
    assert.match(execs[0].ComputeState.Message ?? '', /timed out/)
    const events = c.orchestrator.jobHistory(id, {}).Items
    assert.ok(events.some((h) => h.Event.Topic === 'Exec Timeout'))
  })

  it('pages job lists and history with opaque tokens', async () => {
    for (let i = 0; i < 3; i++) await c.submit(noopJob({ Labels: { batch: 'paging' } }))
    const sel = [{ Key: 'batch', Operator: '=', Values: ['paging'] }]
    const p1 = c.orchestrator.listJobs({ limit: 2, labels: sel })
    assert.equal(p1.Items.length, 2)
    assert.ok(p1.NextToken)
    const p2 = c.orchestrator.listJobs({ nextToken: p1.NextToken, labels: sel })
    assert.equal(p2.Items.length, 1)
    assert.equal(p2.NextToken, '')
    assert.throws(() => c.orchestrator.listJobs({ nextToken: 'garbage!!' }), /invalid next token/)
    assert.throws(() => c.orchestrator.listJobs({ orderBy: 'id' }), /not supported/)
  })
})

describe('scheduling across several compute nodes', () => {
  let c: TestCluster
  before(async () => {
    c = await startCluster({ computes: 3 })
  })
  after(() => c.stop())

  it('runs Count partitions on distinct nodes', async () => {
    const id = await c.submit(noopJob({ Count: 3 }))
    const job = await c.waitForState(id, ['Completed', 'Failed'])
    assert.equal(job.State.StateType, 'Completed')
    const execs = c.orchestrator.jobExecutions(id, {}).Items
    assert.equal(execs.length, 3)
    assert.deepEqual(new Set(execs.map((e) => e.PartitionIndex ?? 0)), new Set([0, 1, 2]))
    assert.equal(new Set(execs.map((e) => e.NodeID)).size, 3)
  })

  it('fails at once when Count exceeds the nodes and no queue timeout is set', async () => {
    const id = await c.submit(noopJob({ Count: 5 }))
    const job = await c.waitForState(id, ['Failed', 'Completed'])
    assert.equal(job.State.StateType, 'Failed')
    assert.match(job.State.Message ?? '', /requested: 5/)
  })

  it('runs an ops job once on every node', async () => {
    const id = await c.submit({ ...noopJob(), Type: 'ops' })
    const job = await c.waitForState(id, ['Completed', 'Failed'])
    assert.equal(job.State.StateType, 'Completed')
    assert.equal(job.Count, 0)
    assert.equal(c.orchestrator.jobExecutions(id, {}).Items.length, 3)
  })

  it('retries a failing batch execution on other nodes, then fails the job', async () => {
    const id = await c.submit(noopJob({}, { Error: 'boom' }))
    const job = await c.waitForState(id, ['Failed', 'Completed'])
    assert.equal(job.State.StateType, 'Failed')
    const execs = c.orchestrator.jobExecutions(id, {}).Items
    assert.ok(execs.length >= 3, `expected retries on every node, got ${execs.length}`)
    assert.ok(execs.every((e) => e.ComputeState.StateType === ES.Failed && e.ComputeState.Message === 'boom'))
    assert.equal(new Set(execs.map((e) => e.NodeID)).size, 3)
  })

  it('queues a job that no node matches and runs it when a matching node joins', async () => {
    const id = await c.submit({
      ...noopJob({ Constraints: [{ Key: 'name', Operator: '=', Values: ['n-late'] }] }),
      Tasks: [{ Name: 't', Engine: { Type: 'noop' }, Timeouts: { QueueTimeout: 30 } }],
    })
    const queued = await c.waitForState(id, ['Queued', 'Failed'])
    assert.equal(queued.State.StateType, 'Queued')
    await c.addCompute('n-late')
    const job = await c.waitForState(id, ['Completed', 'Failed'])
    assert.equal(job.State.StateType, 'Completed')
    assert.equal(c.orchestrator.jobExecutions(id, {}).Items[0].NodeID, 'n-late')
  })
})

/** An engine that records how many of its runs overlap. */
class ConcurrencyProbe implements Executor {
  readonly name = 'probe'
  current = 0
  peak = 0
  async isInstalled() {
    return true
  }
  async run(_req: RunRequest, signal: AbortSignal): Promise<RunResult> {
    this.current++
    this.peak = Math.max(this.peak, this.current)
    await new Promise((r) => setTimeout(r, 150))
    this.current--
    return signal.aborted ? { exitCode: -1, error: 'cancelled' } : { exitCode: 0 }
  }
}

describe('compute capacity', () => {
  const probe = new ConcurrencyProbe()
  let c: TestCluster
  before(async () => {
    c = await startCluster({
      capacity: { CPU: 1, Memory: 4e9, Disk: 1e9, GPU: 0 },
      executors: () => [probe, new NoopExecutor()],
    })
  })
  after(() => c.stop())

  it('never runs more than fits in the allocated capacity, and queues the rest', async () => {
    const ids: string[] = []
    for (let i = 0; i < 6; i++)
      ids.push(
        await c.submit({
          Type: 'batch',
          Tasks: [{ Name: 't', Engine: { Type: 'probe' }, Resources: { CPU: '500m' } }],
        }),
      )
    for (const id of ids)
      assert.equal((await c.waitForState(id, ['Completed', 'Failed'])).State.StateType, 'Completed')
    assert.equal(probe.peak, 2)
  })
})

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}
