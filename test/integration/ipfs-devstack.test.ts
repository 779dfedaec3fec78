// IPFS on a devstack of separate processes: a folder added on the orchestrator's embedded
// IPFS node is read by a job on a compute node (blocks over bitswap), the results are
// published to IPFS, and `job get` brings them back.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startDevstack, type Devstack } from '../../src/devstack/launcher.js'
import { projectRoot } from '../../src/util/paths.js'
import { api, completedExecution, runCli, waitForJobState } from '../helpers/node-process.js'

describe('IPFS on a devstack', () => {
  let stack: Devstack
  let tmp: string
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ipfs-dev-'))
    stack = await startDevstack({
      orchestrators: 1,
      computes: 2,
      hybrids: 0,
      config: ['InputSources.ReadTimeout=5s'],
    })
  })
  after(async () => {
    await stack?.stop()
    if (stack) fs.rmSync(stack.baseDir, { recursive: true, force: true })
    fs.rmSync(tmp, { recursive: true, force: true })
  })

  it('data add → job reads ipfs://CID on another node → publishes to IPFS → job get', async () => {
    const port = stack.nodes[0].apiPort
    const folder = path.join(tmp, 'dataset')
    fs.mkdirSync(path.join(folder, 'sub'), { recursive: true })
    fs.writeFileSync(path.join(folder, 'hello.txt'), 'hello from ipfs\n')
    fs.writeFileSync(path.join(folder, 'sub', 'big.bin'), Buffer.alloc(3 * 1024 * 1024, 7))
    const add = await runCli(['data', 'add', folder], { port })
    assert.equal(add.code, 0, add.stderr)
    const cid = add.stdout.trim().split('\n').at(-1)!
    assert.match(cid, /^(Qm|baf)/)

    const cat = path.join(projectRoot(), 'fixtures/wasm/cat.wasm')
    const run = await runCli(
      [
        'wasm',
        'run',
        '--id-only',
        '-i',
        `ipfs://${cid}:/data`,
        '-p',
        'ipfs',
        '-o',
        'outputs:/outputs',
        cat,
        '/data/hello.txt',
        '/outputs/copy.txt',
      ],
      { port },
    )
    assert.equal(run.code, 0, run.stderr)
    const id = run.stdout.trim()
    const execs = await api(stack.nodes[0], 'GET', `/api/v1/orchestrator/jobs/${id}/executions`)
    assert.ok(
      ['node-1', 'node-2'].includes(execs.body.Items[0].NodeID),
      'ran on a compute node, not where the data was added',
    )
    assert.equal(execs.body.Items[0].PublishedResult.Type, 'ipfs')

    const out = path.join(tmp, 'out')
    const get = await runCli(['job', 'get', id, '--output-dir', out], { port })
    assert.equal(get.code, 0, get.stderr)
    assert.equal(fs.readFileSync(path.join(out, 'stdout'), 'utf8'), 'hello from ipfs\n')
    assert.equal(fs.readFileSync(path.join(out, 'outputs', 'copy.txt'), 'utf8'), 'hello from ipfs\n')
  })

  it('fails a job whose CID nobody has, within the read timeout, saying so', async () => {
    const res = await api(stack.nodes[0], 'PUT', '/api/v1/orchestrator/jobs', {
      Job: {
        Type: 'batch',
        Name: 'unknown-cid',
        Tasks: [
          {
            Name: 'main',
            Engine: { Type: 'noop' },
            InputSources: [
              {
                Target: '/in',
                Source: {
                  Type: 'ipfs',
                  Params: { CID: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy' },
                },
              },
            ],
          },
        ],
      },
    })
    const job = await waitForJobState(stack.nodes[0], res.body.JobID, ['Failed', 'Completed'], 90_000)
    assert.equal(job.State.StateType, 'Failed')
    const execs = await api(stack.nodes[0], 'GET', `/api/v1/orchestrator/jobs/${res.body.JobID}/executions`)
    assert.match(execs.body.Items[0].ComputeState.Message, /ipfs input bafkrei.*not found/)
  })
})

describe('IPFS providers through the DHT', () => {
  let stack: Devstack
  let tmp: string
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ipfs-dht-'))
    // A loaded machine can take seconds to announce and look up a provider: the read
    // timeout here is generous, the assertion is about where the data came from.
    stack = await startDevstack({
      orchestrators: 1,
      computes: 2,
      hybrids: 0,
      config: ['InputSources.ReadTimeout=60s'],
    })
  })
  after(async () => {
    await stack?.stop()
    if (stack) fs.rmSync(stack.baseDir, { recursive: true, force: true })
    fs.rmSync(tmp, { recursive: true, force: true })
  })

  it('finds data on a compute node it is not connected to through the DHT', async () => {
    // node-1 and node-2 are each connected to the orchestrator only. The data is added on
    // node-2 and the job is pinned to node-1: the orchestrator answers DONT_HAVE, so node-1
    // must find node-2 as a provider in the DHT and fetch from it directly.
    const file = path.join(tmp, 'on-node-2.txt')
    fs.writeFileSync(file, 'found through the DHT\n')
    const add = await runCli(['data', 'add', file], { port: stack.nodes[2].apiPort })
    assert.equal(add.code, 0, add.stderr)
    const cid = add.stdout.trim().split('\n').at(-1)!
    const cat = path.join(projectRoot(), 'fixtures/wasm/cat.wasm')
    const run = await runCli(
      [
        'wasm',
        'run',
        '--id-only',
        '--constraints',
        'id=node-1',
        '-i',
        `ipfs://${cid}:/data/in.txt`,
        cat,
        '/data/in.txt',
      ],
      { port: stack.nodes[0].apiPort },
    )
    assert.equal(run.code, 0, run.stderr)
    const id = run.stdout.trim()
    const job = await waitForJobState(stack.nodes[0], id, ['Completed', 'Failed'], 60_000)
    assert.equal(job.State.StateType, 'Completed', JSON.stringify(job.State))
    const done = await completedExecution(stack.nodes[0], id)
    assert.equal(done.NodeID, 'node-1')
    assert.equal(done.RunOutput?.Stdout, 'found through the DHT\n')
  })
})
