// A node killed with SIGKILL mid-job loses nothing: after a restart on the same data
// directory every job is still listed and the interrupted one reaches a terminal state.
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { api, startNodeProcess, waitForJobState, type NodeProcess } from '../helpers/node-process.js'

describe('kill -9 and restart', () => {
  let node: NodeProcess | undefined
  after(async () => {
    await node?.stop()
    if (node) fs.rmSync(node.dataDir, { recursive: true, force: true })
  })

  it('keeps every job and finishes the interrupted one', async () => {
    node = await startNodeProcess()
    const done = await api(node, 'PUT', '/api/v1/orchestrator/jobs', {
      Job: {
        Type: 'batch',
        Name: 'finished-before',
        Tasks: [{ Name: 'main', Engine: { Type: 'noop', Params: { Stdout: 'ok\n' } } }],
      },
    })
    assert.equal(done.status, 200)
    await waitForJobState(node, done.body.JobID, ['Completed'])
    const running = await api(node, 'PUT', '/api/v1/orchestrator/jobs', {
      Job: {
        Type: 'batch',
        Name: 'interrupted',
        Tasks: [{ Name: 'main', Engine: { Type: 'noop', Params: { SleepMs: 3000 } } }],
      },
    })
    assert.equal(running.status, 200)
    await waitForJobState(node, running.body.JobID, ['Running'])

    await node.kill9()
    node = await startNodeProcess({ dataDir: node.dataDir })

    const list = await api(node, 'GET', '/api/v1/orchestrator/jobs')
    const names = list.body.Items.map((j: { Name: string }) => j.Name).sort()
    assert.deepEqual(names, ['finished-before', 'interrupted'])
    const finished = await api(node, 'GET', `/api/v1/orchestrator/jobs/${done.body.JobID}`)
    assert.equal(finished.body.Job.State.StateType, 'Completed')

    const job = await waitForJobState(node, running.body.JobID, ['Completed', 'Failed'], 30_000)
    assert.equal(job.State.StateType, 'Completed')
    const execs = await api(node, 'GET', `/api/v1/orchestrator/jobs/${running.body.JobID}/executions`)
    const states = execs.body.Items.map(
      (e: { ComputeState: { StateType: number; Message?: string } }) => e.ComputeState,
    )
    assert.equal(states.length, 2, 'the interrupted execution is failed and a new one completes')
    assert.ok(
      states.some(
        (s: { StateType: number; Message?: string }) =>
          s.StateType === 10 && /node restart/.test(s.Message ?? ''),
      ),
    )
    assert.ok(states.some((s: { StateType: number }) => s.StateType === 9))
    const history = await api(node, 'GET', `/api/v1/orchestrator/jobs/${running.body.JobID}/history`)
    assert.ok(history.body.Items.some((h: { Event: { Topic: string } }) => h.Event.Topic === 'Restart'))
  })
})
