// Faults across separate processes: an orchestrator killed and restarted mid-job, manual
// node approval, and what a compute-only node serves.
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { freePort } from '../../src/devstack/launcher.js'
import { api, runCli, startNodeProcess, waitForJobState, type NodeProcess } from '../helpers/node-process.js'

const fast = ['-c', 'Compute.Heartbeat.Interval=500ms', '-c', 'Orchestrator.NodeManager.DisconnectTimeout=5s']

async function waitForNodes(
  orch: NodeProcess,
  predicate: (nodes: any[]) => boolean,
  timeoutMs = 15_000,
): Promise<any[]> {
  const end = Date.now() + timeoutMs
  let nodes: any[] = []
  while (Date.now() < end) {
    nodes = (await api(orch, 'GET', '/api/v1/orchestrator/nodes')).body.Nodes ?? []
    if (predicate(nodes)) return nodes
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(
    `node table never matched: ${JSON.stringify(nodes.map((n) => [n.Info.NodeID, n.Membership, n.Connection]))}`,
  )
}

describe('network faults', () => {
  const started: NodeProcess[] = []
  const start = async (...a: Parameters<typeof startNodeProcess>) => {
    const n = await startNodeProcess(...a)
    started.push(n)
    return n
  }
  after(async () => {
    for (const n of started) {
      await n.stop()
      fs.rmSync(n.dataDir, { recursive: true, force: true })
    }
  })

  it('finishes a job whose orchestrator was killed and restarted while it ran', async () => {
    const port = await freePort()
    const orchArgs = [
      '--name',
      'orch',
      '-c',
      'Orchestrator.Host=127.0.0.1',
      '-c',
      `Orchestrator.Port=${port}`,
      '-c',
      'Orchestrator.Auth.Token=t0k',
      ...fast,
    ]
    let orch = await start({ role: 'orchestrator', args: orchArgs })
    await start({
      role: 'compute',
      args: [
        '--name',
        'worker',
        '-c',
        `Compute.Orchestrators=127.0.0.1:${port}`,
        '-c',
        'Compute.Auth.Token=t0k',
        ...fast,
      ],
    })
    await waitForNodes(orch, (ns) => ns.some((n) => n.Info.NodeID === 'worker'))
    const cfg = await api(orch, 'GET', '/api/v1/agent/config')
    assert.equal(cfg.body.config.Orchestrator.Auth.Token, '********', 'the network token is never shown')
    const res = await api(orch, 'PUT', '/api/v1/orchestrator/jobs', {
      Job: {
        Type: 'batch',
        Name: 'outlives-orchestrator',
        Tasks: [{ Name: 'main', Engine: { Type: 'noop', Params: { SleepMs: 3000 } } }],
      },
    })
    assert.equal(res.status, 200)
    await waitForJobState(orch, res.body.JobID, ['Running'])
    await orch.kill9()
    orch = await start({ role: 'orchestrator', dataDir: orch.dataDir, args: orchArgs })
    const job = await waitForJobState(orch, res.body.JobID, ['Completed', 'Failed'], 60_000)
    assert.equal(job.State.StateType, 'Completed', JSON.stringify(job.State))
    const execs = await api(orch, 'GET', `/api/v1/orchestrator/jobs/${res.body.JobID}/executions`)
    assert.equal(execs.body.Items.length, 1, 'the running execution was not restarted: its result arrived')
    assert.equal(execs.body.Items[0].NodeID, 'worker')
  })

  it('keeps a new node PENDING under manual approval until `node approve`', async () => {
    const port = await freePort()
    const orch = await start({
      role: 'orchestrator',
      args: [
        '-c',
        'Orchestrator.Host=127.0.0.1',
        '-c',
        `Orchestrator.Port=${port}`,
        '-c',
        'Orchestrator.Auth.Token=k',
        '-c',
        'Orchestrator.NodeManager.ManualApproval=true',
        ...fast,
      ],
    })
    const compute = await start({
      role: 'compute',
      args: [
        '--name',
        'newcomer',
        '-c',
        `Compute.Orchestrators=127.0.0.1:${port}`,
        '-c',
        'Compute.Auth.Token=k',
        ...fast,
      ],
    })
    await waitForNodes(orch, (ns) =>
      ns.some((n) => n.Info.NodeID === 'newcomer' && n.Membership === 'PENDING'),
    )
    const early = await api(orch, 'PUT', '/api/v1/orchestrator/jobs', {
      Job: { Type: 'batch', Name: 'early', Tasks: [{ Name: 'main', Engine: { Type: 'noop' } }] },
    })
    const failed = await waitForJobState(orch, early.body.JobID, ['Failed', 'Completed'])
    assert.equal(failed.State.StateType, 'Failed')
    assert.match(failed.State.Message, /available: 0/)

    const approve = await runCli(['node', 'approve', 'newcomer'], { port: orch.port })
    assert.equal(approve.code, 0, approve.stderr)
    const again = await runCli(['node', 'approve', 'newcomer'], { port: orch.port })
    assert.equal(again.code, 1)
    assert.match(again.stderr, /already approved/)
    const later = await api(orch, 'PUT', '/api/v1/orchestrator/jobs', {
      Job: { Type: 'batch', Name: 'later', Tasks: [{ Name: 'main', Engine: { Type: 'noop' } }] },
    })
    const done = await waitForJobState(orch, later.body.JobID, ['Completed', 'Failed'])
    assert.equal(done.State.StateType, 'Completed')

    // A compute-only node answers agent endpoints but has no job API.
    const info = await api(compute, 'GET', '/api/v1/agent/node')
    assert.equal(info.status, 200)
    assert.equal(info.body.NodeID, 'newcomer')
    assert.equal(info.body.NodeType, 'Compute')
    const jobs = await api(compute, 'GET', '/api/v1/orchestrator/jobs')
    assert.equal(jobs.status, 404)

    const reject = await runCli(['node', 'reject', 'newcomer'], { port: orch.port })
    assert.equal(reject.code, 0, reject.stderr)
    const nodes = await waitForNodes(orch, (ns) =>
      ns.some((n) => n.Info.NodeID === 'newcomer' && n.Membership === 'REJECTED'),
    )
    assert.equal(nodes.find((n) => n.Info.NodeID === 'newcomer').Connection, 'DISCONNECTED')
  })
})
