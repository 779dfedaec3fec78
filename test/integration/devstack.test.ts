// A devstack of separate node processes on loopback: 1 orchestrator + 2 compute nodes
// joined over libp2p. Nothing here takes an in-process shortcut.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startDevstack, type Devstack } from '../../src/devstack/launcher.js'
import { projectRoot } from '../../src/util/paths.js'
import { api, NODE_ENTRY, runCli, waitForJobState } from '../helpers/node-process.js'

const fast = [
  'Compute.Heartbeat.Interval=500ms',
  'Orchestrator.NodeManager.DisconnectTimeout=3s',
  'Orchestrator.Scheduler.HousekeepingInterval=500ms',
]
const example = (name: string) =>
  JSON.parse(fs.readFileSync(path.join(projectRoot(), 'examples', `${name}.json`), 'utf8'))

describe('devstack: separate processes over libp2p', () => {
  let stack: Devstack
  let orch: { apiUrl: string }
  before(async () => {
    stack = await startDevstack({ orchestrators: 1, computes: 2, hybrids: 0, config: fast })
    orch = stack.nodes[0]
  })
  after(async () => {
    await stack?.stop()
    if (stack) fs.rmSync(stack.baseDir, { recursive: true, force: true })
  })

  it('lists every node with its type, labels and capacity', async () => {
    const r = await runCli(['node', 'list', '--output', 'json'], { port: stack.nodes[0].apiPort })
    assert.equal(r.code, 0, r.stderr)
    const nodes = JSON.parse(r.stdout) as Array<{ Info: any; Connection: string; Membership: string }>
    assert.deepEqual(nodes.map((n) => n.Info.NodeID).sort(), ['node-0', 'node-1', 'node-2'])
    const computes = nodes.filter((n) => n.Info.NodeType === 'Compute')
    assert.equal(computes.length, 2)
    for (const n of computes) {
      assert.equal(n.Connection, 'CONNECTED')
      assert.equal(n.Membership, 'APPROVED')
      assert.equal(n.Info.Labels.env, 'devstack')
      assert.ok(n.Info.ComputeNodeInfo.MaxCapacity.CPU > 0)
      assert.ok(n.Info.ComputeNodeInfo.ExecutionEngines.includes('wasm'))
    }
    const table = await runCli(['node', 'list'], { port: stack.nodes[0].apiPort })
    assert.match(table.stdout, /node-1/)
    assert.match(table.stdout, /CONNECTED/)
  })

  it('runs WASM and noop jobs on compute nodes', async () => {
    for (const name of ['wasm-hello', 'noop']) {
      const res = await api(orch, 'PUT', '/api/v1/orchestrator/jobs', {
        Job: { ...example(name), Name: `dev-${name}` },
      })
      assert.equal(res.status, 200)
      const job = await waitForJobState(orch, res.body.JobID, ['Completed', 'Failed'])
      assert.equal(job.State.StateType, 'Completed', JSON.stringify(job.State))
      const execs = await api(orch, 'GET', `/api/v1/orchestrator/jobs/${res.body.JobID}/executions`)
      assert.ok(['node-1', 'node-2'].includes(execs.body.Items[0].NodeID))
      if (name === 'wasm-hello') assert.equal(execs.body.Items[0].RunOutput.Stdout, 'Hello, World!\n')
    }
  })

  it('places a job with a label constraint only on matching nodes', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await api(orch, 'PUT', '/api/v1/orchestrator/jobs', {
        Job: {
          ...example('noop'),
          Name: `constrained-${i}`,
          Constraints: [{ Key: 'id', Operator: '=', Values: ['node-2'] }],
        },
      })
      await waitForJobState(orch, res.body.JobID, ['Completed'])
      const execs = await api(orch, 'GET', `/api/v1/orchestrator/jobs/${res.body.JobID}/executions`)
      assert.deepEqual(
        execs.body.Items.map((e: { NodeID: string }) => e.NodeID),
        ['node-2'],
      )
    }
  })

  it('fails a job that no node can run, saying why', async () => {
    const res = await api(orch, 'PUT', '/api/v1/orchestrator/jobs', {
      Job: {
        ...example('noop'),
        Name: 'impossible',
        Constraints: [{ Key: 'region', Operator: '=', Values: ['mars'] }],
      },
    })
    const job = await waitForJobState(orch, res.body.JobID, ['Failed', 'Completed'])
    assert.equal(job.State.StateType, 'Failed')
    assert.match(job.State.Message, /not enough nodes to run job. requested: 1, available: 2, suitable: 0/)
    assert.match(job.State.Message, /does not match constraints region = mars/)
  })

  it('streams a running execution’s logs from the compute node through the orchestrator', async () => {
    const ticker = fs.readFileSync(path.join(projectRoot(), 'fixtures/wasm/ticker.wasm')).toString('base64')
    const res = await api(orch, 'PUT', '/api/v1/orchestrator/jobs', {
      Job: {
        Type: 'batch',
        Name: 'ticker',
        Tasks: [
          {
            Name: 'main',
            Engine: {
              Type: 'wasm',
              Params: { EntryModule: '/app/t.wasm', Entrypoint: '_start', Parameters: ['3', '200'] },
            },
            InputSources: [
              {
                Target: '/app/t.wasm',
                Source: { Type: 'inline', Params: { URL: `data:application/wasm;base64,${ticker}` } },
              },
            ],
          },
        ],
      },
    })
    assert.equal(res.status, 200)
    const logs = await runCli(['job', 'logs', '-f', res.body.JobID], { port: stack.nodes[0].apiPort })
    assert.equal(logs.code, 0, logs.stderr)
    assert.ok(logs.stdout.split('\n').filter(Boolean).length >= 3, logs.stdout)
  })

  it('never admits a node with the wrong network token', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'intruder-'))
    const orchAddr = `127.0.0.1:${stack.nodes[0].networkPort}`
    const child = spawn(
      process.execPath,
      [
        NODE_ENTRY,
        '--role',
        'compute',
        '--name',
        'intruder',
        '--data-dir',
        dataDir,
        '--api-port',
        '0',
        '-c',
        `Compute.Orchestrators=${orchAddr}`,
        '-c',
        'Compute.Auth.Token=not-the-token',
        '-c',
        'Compute.Heartbeat.Interval=500ms',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } },
    )
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    try {
      await new Promise((r) => setTimeout(r, 6000))
      const nodes = await api(orch, 'GET', '/api/v1/orchestrator/nodes')
      assert.ok(!nodes.body.Nodes.some((n: { Info: { NodeID: string } }) => n.Info.NodeID === 'intruder'))
      assert.match(out, /network token/i)
    } finally {
      child.kill('SIGKILL')
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('marks a killed compute node DISCONNECTED and retries its execution elsewhere', async () => {
    const res = await api(orch, 'PUT', '/api/v1/orchestrator/jobs', {
      Job: {
        Type: 'batch',
        Name: 'survivor',
        Tasks: [{ Name: 'main', Engine: { Type: 'noop', Params: { SleepMs: 4000 } } }],
      },
    })
    await waitForJobState(orch, res.body.JobID, ['Running'])
    let first: { NodeID: string } | undefined
    for (let i = 0; i < 50 && !first; i++) {
      const execs = await api(orch, 'GET', `/api/v1/orchestrator/jobs/${res.body.JobID}/executions`)
      first = execs.body.Items.find((e: { ComputeState: { StateType: number } }) =>
        [5, 6].includes(e.ComputeState.StateType),
      )
      if (!first) await new Promise((r) => setTimeout(r, 100))
    }
    assert.ok(first, 'an execution is running')
    const victim = stack.nodes.find((n) => n.name === first!.NodeID)!
    const killedAt = Date.now()
    victim.process.kill('SIGKILL')
    let state = ''
    while (Date.now() - killedAt < 10_000) {
      const n = await api(orch, 'GET', `/api/v1/orchestrator/nodes/${victim.name}`)
      state = n.body.Node.Connection
      if (state === 'DISCONNECTED') break
      await new Promise((r) => setTimeout(r, 200))
    }
    assert.equal(state, 'DISCONNECTED')
    // DisconnectTimeout (3 s) plus one liveness check (1 s), with slack for a loaded machine.
    assert.ok(Date.now() - killedAt <= 6000, 'noticed within the disconnect timeout plus one check period')
    const job = await waitForJobState(orch, res.body.JobID, ['Completed', 'Failed'], 30_000)
    assert.equal(job.State.StateType, 'Completed')
    const execs = await api(orch, 'GET', `/api/v1/orchestrator/jobs/${res.body.JobID}/executions`)
    const nodesUsed = execs.body.Items.map((e: { NodeID: string; ComputeState: { StateType: number } }) => [
      e.NodeID,
      e.ComputeState.StateType,
    ])
    assert.ok(
      nodesUsed.some(([n, s]: [string, number]) => n === victim.name && s === 10),
      JSON.stringify(nodesUsed),
    )
    assert.ok(
      nodesUsed.some(([n, s]: [string, number]) => n !== victim.name && s === 9),
      JSON.stringify(nodesUsed),
    )
  })
})
