// JobAdmissionControl.Locality=local: a compute node bids only on jobs whose IPFS inputs
// it already holds.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startDevstack, type Devstack } from '../../src/devstack/launcher.js'
import { api, runCli, waitForJobState } from '../helpers/node-process.js'

describe('IPFS locality', () => {
  let stack: Devstack
  let tmp: string
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ipfs-loc-'))
    stack = await startDevstack({
      orchestrators: 1,
      computes: 2,
      hybrids: 0,
      config: ['JobAdmissionControl.Locality=local', 'InputSources.ReadTimeout=5s'],
    })
  })
  after(async () => {
    await stack?.stop()
    if (stack) fs.rmSync(stack.baseDir, { recursive: true, force: true })
    fs.rmSync(tmp, { recursive: true, force: true })
  })

  it('runs the job only on the node that already holds the data', async () => {
    const file = path.join(tmp, 'local.txt')
    fs.writeFileSync(file, 'held by node-2\n')
    const add = await runCli(['data', 'add', file], { port: stack.nodes[2].apiPort })
    assert.equal(add.code, 0, add.stderr)
    const cid = add.stdout.trim().split('\n').at(-1)!
    const job = (name: string, c: string) => ({
      Job: {
        Type: 'batch',
        Name: name,
        Tasks: [
          {
            Name: 'main',
            Engine: { Type: 'noop' },
            InputSources: [{ Target: '/in', Source: { Type: 'ipfs', Params: { CID: c } } }],
          },
        ],
      },
    })
    const held = await api(stack.nodes[0], 'PUT', '/api/v1/orchestrator/jobs', job('held', cid))
    const done = await waitForJobState(stack.nodes[0], held.body.JobID, ['Completed', 'Failed'], 60_000)
    assert.equal(done.State.StateType, 'Completed', JSON.stringify(done.State))
    const execs = await api(stack.nodes[0], 'GET', `/api/v1/orchestrator/jobs/${held.body.JobID}/executions`)
    const completed = execs.body.Items.filter(
      (e: { ComputeState: { StateType: number } }) => e.ComputeState.StateType === 9,
    )
    assert.deepEqual(
      completed.map((e: { NodeID: string }) => e.NodeID),
      ['node-2'],
    )

    // Data held by the orchestrator only: no compute node bids.
    const orchFile = path.join(tmp, 'orch.txt')
    fs.writeFileSync(orchFile, 'only on the orchestrator\n')
    const add2 = await runCli(['data', 'add', orchFile], { port: stack.nodes[0].apiPort })
    const remote = await api(
      stack.nodes[0],
      'PUT',
      '/api/v1/orchestrator/jobs',
      job('remote', add2.stdout.trim().split('\n').at(-1)!),
    )
    const failed = await waitForJobState(stack.nodes[0], remote.body.JobID, ['Completed', 'Failed'], 60_000)
    assert.equal(failed.State.StateType, 'Failed')
    assert.match(failed.State.Message, /not enough nodes/)
    const rejected = await api(
      stack.nodes[0],
      'GET',
      `/api/v1/orchestrator/jobs/${remote.body.JobID}/executions`,
    )
    assert.ok(
      rejected.body.Items.every((e: { ComputeState: { Message?: string } }) =>
        /already local/.test(e.ComputeState.Message ?? ''),
      ),
    )
  })
})
