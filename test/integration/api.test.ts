// The REST API of a real node process, driven the way a Bacalhau client drives it.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import WebSocket from 'ws'
import { extractResultsArchive } from '../../src/publishers/local/archive.js'
import { projectRoot } from '../../src/util/paths.js'
import { api, startNodeProcess, waitForJobState, type NodeProcess } from '../helpers/node-process.js'

const example = (name: string) =>
  JSON.parse(fs.readFileSync(path.join(projectRoot(), 'examples', `${name}.json`), 'utf8'))

describe('REST API against a real node', () => {
  let node: NodeProcess
  before(async () => {
    node = await startNodeProcess()
  })
  after(async () => {
    await node.stop()
    fs.rmSync(node.dataDir, { recursive: true, force: true })
  })

  for (const name of ['wasm-hello', 'wasm-args-env', 'wasm-legacy-v1.5', 'wasm-ops', 'noop']) {
    it(`runs examples/${name}.json submitted with PUT /api/v1/orchestrator/jobs`, async () => {
      const res = await api(node, 'PUT', '/api/v1/orchestrator/jobs', { Job: example(name) })
      assert.equal(res.status, 200, JSON.stringify(res.body))
      assert.match(res.body.JobID, /^j-/)
      const job = await waitForJobState(node, res.body.JobID, ['Completed', 'Failed'])
      assert.equal(job.State.StateType, 'Completed', JSON.stringify(job.State))
      const execs = await api(node, 'GET', `/api/v1/orchestrator/jobs/${res.body.JobID}/executions`)
      const out = execs.body.Items[0].RunOutput
      if (name.startsWith('wasm-hello') || name === 'wasm-legacy-v1.5' || name === 'wasm-ops')
        assert.equal(out.Stdout, 'Hello, World!\n')
      if (name === 'wasm-args-env') {
        const lines = out.Stdout.split('\n')
        assert.deepEqual(lines.slice(0, 2), ['first', 'second arg'])
        assert.ok(lines.includes('GREETING=hello from the job spec'))
        assert.ok(lines.some((l: string) => l.startsWith('BACALHAU_JOB_ID=j-')))
      }
    })
  }

  it('serves results as a tar.gz with stdout, stderr, exitCode and output folders', async () => {
    const res = await api(node, 'PUT', '/api/v1/orchestrator/jobs', {
      Job: { ...example('wasm-hello'), Name: 'results-check' },
    })
    await waitForJobState(node, res.body.JobID, ['Completed'])
    const results = await api(node, 'GET', `/api/v1/orchestrator/jobs/${res.body.JobID}/results`)
    assert.equal(results.status, 200)
    assert.equal(results.body.Items.length, 1)
    assert.equal(results.body.Items[0].Type, 'urlDownload')
    const dl = await fetch(results.body.Items[0].Params.URL)
    assert.equal(dl.status, 200)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'res-'))
    fs.writeFileSync(path.join(dir, 'r.tar.gz'), Buffer.from(await dl.arrayBuffer()))
    await extractResultsArchive(path.join(dir, 'r.tar.gz'), path.join(dir, 'out'))
    assert.equal(fs.readFileSync(path.join(dir, 'out', 'stdout'), 'utf8'), 'Hello, World!\n')
    assert.equal(fs.readFileSync(path.join(dir, 'out', 'exitCode'), 'utf8'), '0')
    assert.equal(fs.readFileSync(path.join(dir, 'out', 'stderr'), 'utf8'), '')
    assert.ok(fs.statSync(path.join(dir, 'out', 'outputs')).isDirectory())
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('keeps nanosecond CreateTime exact on the wire', async () => {
    const res = await fetch(`${node.apiUrl}/api/v1/orchestrator/jobs?limit=1`)
    const text = await res.text()
    assert.match(text, /"CreateTime":\d{19}[,}]/)
  })

  it('streams logs over the WebSocket endpoint', async () => {
    const res = await api(node, 'PUT', '/api/v1/orchestrator/jobs', {
      Job: { ...example('wasm-hello'), Name: 'logs-check' },
    })
    await waitForJobState(node, res.body.JobID, ['Completed'])
    const frames = await new Promise<any[]>((resolve, reject) => {
      const ws = new WebSocket(
        `${node.apiUrl.replace('http', 'ws')}/api/v1/orchestrator/jobs/${res.body.JobID}/logs`,
      )
      const got: any[] = []
      ws.on('message', (d) => got.push(JSON.parse(String(d))))
      ws.on('close', () => resolve(got))
      ws.on('error', reject)
    })
    assert.deepEqual(frames, [{ value: { Type: 1, Line: 'Hello, World!\n' } }])
  })

  it('answers bad input with 4xx and Bacalhau error bodies, storing nothing', async () => {
    const before = (await api(node, 'GET', '/api/v1/orchestrator/jobs')).body.Items.length
    const malformed = await api(node, 'PUT', '/api/v1/orchestrator/jobs', '{"Job": {"Type": ')
    assert.equal(malformed.status, 400)
    assert.equal(malformed.body.Code, 'InternalError')
    assert.equal(malformed.body.Component, 'APIServer')
    const noType = await api(node, 'PUT', '/api/v1/orchestrator/jobs', {
      Job: { Tasks: [{ Name: 'x', Engine: { Type: 'wasm' } }] },
    })
    assert.equal(noType.status, 400)
    assert.match(noType.body.Message, /missing job type/)
    const badRes = await api(node, 'PUT', '/api/v1/orchestrator/jobs', {
      Job: {
        Type: 'batch',
        Tasks: [{ Name: 'x', Engine: { Type: 'noop' }, Resources: { Memory: 'heaps' } }],
      },
    })
    assert.equal(badRes.status, 400)
    assert.match(badRes.body.Message, /invalid memory value: heaps/)
    const missing = await api(node, 'GET', '/api/v1/orchestrator/jobs/j-00000000-0000-0000-0000-000000000000')
    assert.equal(missing.status, 404)
    assert.equal(missing.body.Code, 'NotFound')
    const token = await api(node, 'GET', '/api/v1/orchestrator/jobs?next_token=%%%')
    assert.equal(token.status, 400)
    const after = (await api(node, 'GET', '/api/v1/orchestrator/jobs')).body.Items.length
    assert.equal(after, before)
  })

  it('fails a job whose engine no node supports, naming the reason', async () => {
    const res = await api(node, 'PUT', '/api/v1/orchestrator/jobs', {
      Job: { Type: 'batch', Tasks: [{ Name: 'x', Engine: { Type: 'quantum' } }] },
    })
    assert.equal(res.status, 200)
    const job = await waitForJobState(node, res.body.JobID, ['Failed', 'Completed'])
    assert.equal(job.State.StateType, 'Failed')
    assert.match(job.State.Message, /does not support engine quantum/)
  })

  it('lists this node and describes it through the agent endpoints', async () => {
    const alive = await api(node, 'GET', '/api/v1/agent/alive')
    assert.deepEqual(alive.body, { Status: 'OK' })
    const info = await api(node, 'GET', '/api/v1/agent/node')
    assert.equal(info.body.NodeType, 'Compute')
    const engines: string[] = info.body.ComputeNodeInfo.ExecutionEngines
    assert.ok(engines.includes('noop') && engines.includes('wasm'), engines.join(','))
    assert.deepEqual([...engines].sort(), engines)
    const nodes = await api(node, 'GET', '/api/v1/orchestrator/nodes')
    assert.equal(nodes.body.Nodes.length, 1)
    assert.equal(nodes.body.Nodes[0].Info.NodeID, info.body.NodeID)
    assert.equal(nodes.body.Nodes[0].Connection, 'CONNECTED')
  })
})
