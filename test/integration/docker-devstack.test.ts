// Docker jobs on a devstack of separate processes, against the real Docker Engine that
// the test command starts (scripts/docker-engine.sh). With CI=true a missing engine fails.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startDevstack, type Devstack } from '../../src/devstack/launcher.js'
import { api, completedExecution, runCli, waitForJobState } from '../helpers/node-process.js'

function engineUp(): boolean {
  try {
    execFileSync('/usr/bin/docker', ['version'], { stdio: 'ignore', timeout: 5000 })
    return true
  } catch {
    return false
  }
}

// Containers are named after their job, so other tests' containers never count here.
const containersOfJob = (jobId: string, all = true) =>
  execFileSync('/usr/bin/docker', ['ps', ...(all ? ['-a'] : []), '-q', '--filter', `name=${jobId}`])
    .toString()
    .trim()

describe('docker jobs on a devstack', () => {
  const up = engineUp()
  if (!up && process.env.CI === 'true')
    throw new Error('CI=true but no Docker Engine answers: run scripts/docker-engine.sh')
  let stack: Devstack
  let port: number
  before(async () => {
    if (!up) return
    stack = await startDevstack({ orchestrators: 1, computes: 2, hybrids: 0 })
    port = stack.nodes[0].apiPort
  })
  after(async () => {
    await stack?.stop()
    if (stack) fs.rmSync(stack.baseDir, { recursive: true, force: true })
  })
  const dockerJob = (name: string, params: Record<string, unknown>, task: Record<string, unknown> = {}) => ({
    Job: {
      Type: 'batch',
      Name: name,
      Tasks: [
        { Name: 'main', Engine: { Type: 'docker', Params: { Image: 'busybox:1.37.0', ...params } }, ...task },
      ],
    },
  })

  it(
    'bacalhau docker run --wait busybox:1.37.0 -- echo hello, then job get',
    { skip: !up && 'no Docker Engine' },
    async () => {
      const run = await runCli(
        ['docker', 'run', '--wait', '--id-only', '-p', 'local', 'busybox:1.37.0', '--', 'echo', 'hello'],
        { port },
      )
      assert.equal(run.code, 0, run.stderr)
      const id = run.stdout.trim()
      assert.match(id, /^j-/)
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dget-'))
      const get = await runCli(['job', 'get', id, '--output-dir', out], { port })
      assert.equal(get.code, 0, get.stderr)
      assert.equal(fs.readFileSync(path.join(out, 'stdout'), 'utf8'), 'hello\n')
      assert.equal(fs.readFileSync(path.join(out, 'exitCode'), 'utf8'), '0')
      fs.rmSync(out, { recursive: true, force: true })
    },
  )

  it('mounts inputs read-only and collects outputs', { skip: !up && 'no Docker Engine' }, async () => {
    const data = Buffer.from('input data\n').toString('base64')
    const res = await api(
      stack.nodes[0],
      'PUT',
      '/api/v1/orchestrator/jobs',
      dockerJob(
        'io',
        {
          Entrypoint: ['sh', '-c'],
          Parameters: [
            'cat /inputs/data.txt; echo changed > /inputs/data.txt && echo WROTE; echo result > /outputs/r.txt',
          ],
        },
        {
          InputSources: [
            {
              Target: '/inputs/data.txt',
              Source: { Type: 'inline', Params: { URL: `data:text/plain;base64,${data}` } },
            },
          ],
          ResultPaths: [{ Name: 'outputs', Path: '/outputs' }],
          Publisher: { Type: 'local' },
        },
      ),
    )
    assert.equal(res.status, 200, JSON.stringify(res.body))
    const job = await waitForJobState(stack.nodes[0], res.body.JobID, ['Completed', 'Failed'], 30_000)
    assert.equal(job.State.StateType, 'Completed', JSON.stringify(job.State))
    const run = (await completedExecution(stack.nodes[0], res.body.JobID)).RunOutput!
    assert.match(run.Stdout ?? '', /^input data\n/)
    assert.doesNotMatch(run.Stdout ?? '', /WROTE/)
    assert.match(run.stderr ?? '', /Read-only file system/)
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dget-'))
    const get = await runCli(['job', 'get', res.body.JobID, '--output-dir', out], { port })
    assert.equal(get.code, 0, get.stderr)
    assert.equal(fs.readFileSync(path.join(out, 'outputs', 'r.txt'), 'utf8'), 'result\n')
    fs.rmSync(out, { recursive: true, force: true })
  })

  it(
    'fails a job whose allocation passes its memory limit, saying so',
    { skip: !up && 'no Docker Engine' },
    async () => {
      const res = await api(
        stack.nodes[0],
        'PUT',
        '/api/v1/orchestrator/jobs',
        dockerJob(
          'oom',
          { Entrypoint: ['sh', '-c'], Parameters: ['head -c 200m /dev/zero | tail'] },
          { Resources: { Memory: '32mb' } },
        ),
      )
      const job = await waitForJobState(stack.nodes[0], res.body.JobID, ['Completed', 'Failed'], 60_000)
      assert.equal(job.State.StateType, 'Failed')
      const execs = await api(stack.nodes[0], 'GET', `/api/v1/orchestrator/jobs/${res.body.JobID}/executions`)
      assert.ok(
        execs.body.Items.every((e: { ComputeState: { Message?: string } }) =>
          /memory limit exceeded/.test(e.ComputeState.Message ?? ''),
        ),
      )
    },
  )

  it('enforces the execution timeout', { skip: !up && 'no Docker Engine' }, async () => {
    const res = await api(
      stack.nodes[0],
      'PUT',
      '/api/v1/orchestrator/jobs',
      dockerJob('slow', { Parameters: ['sleep', '30'] }, { Timeouts: { ExecutionTimeout: 1 } }),
    )
    const job = await waitForJobState(stack.nodes[0], res.body.JobID, ['Completed', 'Failed'], 30_000)
    assert.equal(job.State.StateType, 'Failed')
    const execs = await api(stack.nodes[0], 'GET', `/api/v1/orchestrator/jobs/${res.body.JobID}/executions`)
    assert.match(execs.body.Items[0].ComputeState.Message, /timed out/)
  })

  it('job stop kills the container', { skip: !up && 'no Docker Engine' }, async () => {
    const res = await api(
      stack.nodes[0],
      'PUT',
      '/api/v1/orchestrator/jobs',
      dockerJob('stoppable', { Parameters: ['sleep', '60'] }),
    )
    await waitForJobState(stack.nodes[0], res.body.JobID, ['Running'])
    let running = ''
    for (let i = 0; i < 100 && !running; i++) {
      running = containersOfJob(res.body.JobID, false)
      if (!running) await new Promise((r) => setTimeout(r, 100))
    }
    assert.ok(running, 'the container is running')
    const stop = await runCli(['job', 'stop', res.body.JobID], { port })
    assert.equal(stop.code, 0, stop.stderr)
    let left = running
    for (let i = 0; i < 100 && left; i++) {
      left = containersOfJob(res.body.JobID)
      if (left) await new Promise((r) => setTimeout(r, 100))
    }
    assert.equal(left, '', 'no container is left')
    const job = await api(stack.nodes[0], 'GET', `/api/v1/orchestrator/jobs/${res.body.JobID}`)
    assert.equal(job.body.Job.State.StateType, 'Stopped')
  })

  it('fails an unknown image with a message naming it', { skip: !up && 'no Docker Engine' }, async () => {
    const res = await api(stack.nodes[0], 'PUT', '/api/v1/orchestrator/jobs', {
      Job: {
        Type: 'batch',
        Name: 'noimage',
        Tasks: [
          { Name: 'main', Engine: { Type: 'docker', Params: { Image: '127.0.0.1:5000/nosuch/image:1' } } },
        ],
      },
    })
    const job = await waitForJobState(stack.nodes[0], res.body.JobID, ['Completed', 'Failed'], 60_000)
    assert.equal(job.State.StateType, 'Failed')
    const execs = await api(stack.nodes[0], 'GET', `/api/v1/orchestrator/jobs/${res.body.JobID}/executions`)
    assert.match(execs.body.Items[0].ComputeState.Message, /nosuch\/image/)
  })
})
