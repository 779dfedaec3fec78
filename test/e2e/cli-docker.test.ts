// `bacalhau docker run` as a user runs it, against a real hybrid node and the real Docker
// Engine (started by scripts/docker-engine.sh, which also builds busybox:1.37.0 locally).
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import YAML from 'yaml'
import { api, runCli, startNodeProcess, type NodeProcess } from '../helpers/node-process.js'

const IMAGE = 'busybox:1.37.0'

const jobIdOf = (stdout: string) => {
  const m = /Job successfully submitted\. Job ID: (j-[0-9a-f-]+)/.exec(stdout)
  assert.ok(m, `no job ID in:\n${stdout}`)
  return m[1]
}

describe('bacalhau docker run against a real node', () => {
  let node: NodeProcess
  let work: string
  let data: string
  const cli = (args: string[]) => runCli(args, { port: node.port, cwd: work, timeoutMs: 90_000 })

  async function executionsOf(jobId: string): Promise<any[]> {
    const r = await api(node, 'GET', `/api/v1/orchestrator/jobs/${jobId}/executions`)
    assert.equal(r.status, 200, JSON.stringify(r.body))
    return r.body.Items
  }

  async function stateOf(jobId: string): Promise<string> {
    const r = await api(node, 'GET', `/api/v1/orchestrator/jobs/${jobId}`)
    assert.equal(r.status, 200, JSON.stringify(r.body))
    return r.body.Job.State.StateType
  }

  /** `job get` into a fresh folder; returns that folder. */
  async function results(jobId: string): Promise<string> {
    const out = fs.mkdtempSync(path.join(work, 'results-'))
    fs.rmdirSync(out)
    const r = await cli(['job', 'get', jobId, '--output-dir', out])
    assert.equal(r.code, 0, r.stderr)
    return out
  }

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-docker-e2e-'))
    data = path.join(work, 'data')
    fs.mkdirSync(data)
    fs.writeFileSync(path.join(data, 'greeting.txt'), 'hi from the host\n')
    node = await startNodeProcess({ args: ['-c', `Compute.AllowListedLocalPaths=${data}`] })
  })
  after(async () => {
    await node?.stop()
    if (node) fs.rmSync(node.dataDir, { recursive: true, force: true })
    fs.rmSync(work, { recursive: true, force: true })
  })

  it('runs IMAGE -- COMMAND: progress, footer, exit 0, and job get gives the stdout', async () => {
    const r = await cli(['docker', 'run', '--wait', '-p', 'local', IMAGE, '--', 'echo', 'hello'])
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`)
    const id = jobIdOf(r.stdout)
    assert.match(
      r.stdout,
      /Checking job status\.\.\. \(Enter Ctrl\+C to exit at any time, your job will continue running\):\n\n TIME {10}EXEC\. ID {4}TOPIC {18}EVENT\n/,
    )
    assert.match(
      r.stdout,
      /\n \d\d:\d\d:\d\d\.\d{3} {2}e-[0-9a-f]{8} {2}Execution {14}Completed successfully\n/,
    )
    assert.ok(
      r.stdout.endsWith(
        `\nTo get more details about the run, execute:\n\tbacalhau job describe ${id}\n` +
          `\nTo get more details about the run executions, execute:\n\tbacalhau job executions ${id}\n` +
          `\nTo download the results, execute:\n\tbacalhau job get ${id}\n`,
      ),
      r.stdout,
    )
    assert.equal(await stateOf(id), 'Completed')
    const out = await results(id)
    assert.equal(fs.readFileSync(path.join(out, 'stdout'), 'utf8'), 'hello\n')
    assert.equal(fs.readFileSync(path.join(out, 'exitCode'), 'utf8'), '0')
    const job = (await api(node, 'GET', `/api/v1/orchestrator/jobs/${id}`)).body.Job
    assert.equal(job.Type, 'batch')
    assert.equal(job.Tasks[0].Engine.Type, 'docker')
    assert.equal(job.Tasks[0].Engine.Params.Image, IMAGE)
    assert.deepEqual(job.Tasks[0].Engine.Params.Parameters, ['echo', 'hello'])
  })

  it('a non-zero exit is a Completed job with that exit code, and the CLI exits 0', async () => {
    const r = await cli(['docker', 'run', '-p', 'local', IMAGE, '--', 'sh', '-c', 'echo oops >&2; exit 3'])
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`)
    const id = jobIdOf(r.stdout)
    assert.equal(await stateOf(id), 'Completed')
    const [exec] = await executionsOf(id)
    assert.equal(exec.RunOutput.ExitCode, 3)
    const out = await results(id)
    assert.equal(fs.readFileSync(path.join(out, 'exitCode'), 'utf8'), '3')
    assert.equal(fs.readFileSync(path.join(out, 'stderr'), 'utf8'), 'oops\n')
  })

  it('-e reaches the container as task env; -w and --entrypoint shape the command', async () => {
    const env = await cli([
      'docker',
      'run',
      '--id-only',
      '-e',
      'GREETING=hi',
      IMAGE,
      '--',
      'sh',
      '-c',
      'echo $GREETING',
    ])
    assert.equal(env.code, 0, env.stderr)
    const envId = env.stdout.trim()
    assert.match(envId, /^j-[0-9a-f-]+$/)
    assert.equal((await executionsOf(envId))[0].RunOutput.Stdout, 'hi\n')

    const wd = await cli(['docker', 'run', '--id-only', '-w', '/tmp', IMAGE, 'pwd'])
    assert.equal(wd.code, 0, wd.stderr)
    assert.equal((await executionsOf(wd.stdout.trim()))[0].RunOutput.Stdout, '/tmp\n')

    const ep = await cli([
      'docker',
      'run',
      '--id-only',
      '--entrypoint',
      '/bin/echo',
      IMAGE,
      '--',
      '-n',
      'a',
      'b',
    ])
    assert.equal(ep.code, 0, ep.stderr)
    assert.equal((await executionsOf(ep.stdout.trim()))[0].RunOutput.Stdout, 'a b')
  })

  it('-i mounts a local folder and -o/-p local bring an output folder back', async () => {
    const r = await cli([
      'docker',
      'run',
      '-i',
      `file://${data}:/inputs`,
      '-o',
      'outputs:/outputs',
      '-p',
      'local',
      IMAGE,
      '--',
      'sh',
      '-c',
      'cp /inputs/greeting.txt /outputs/copy.txt',
    ])
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`)
    const out = await results(jobIdOf(r.stdout))
    assert.equal(fs.readFileSync(path.join(out, 'outputs', 'copy.txt'), 'utf8'), 'hi from the host\n')
  })

  it('-f streams the container output', async () => {
    const r = await cli(['docker', 'run', '-f', IMAGE, '--', 'sh', '-c', 'echo one; echo two'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(
      r.stdout,
      /Waiting for logs\.\.\. \(Enter Ctrl\+C to exit at any time, your job will continue running\):\n\none\ntwo\n/,
    )
  })

  it('a job that fails on the node prints Error: job failed and exits 1', async () => {
    const r = await cli(['docker', 'run', IMAGE, '--', 'no-such-command-here'])
    assert.equal(r.code, 1, `stdout: ${r.stdout}\nstderr: ${r.stderr}`)
    assert.match(r.stderr, /Error: job failed\n$/)
    // It failed in an execution on the node, not for want of a node that runs docker.
    assert.match(r.stdout, /\n \d\d:\d\d:\d\d\.\d{3} {2}e-[0-9a-f]{8} {2}.*Error: /)
    assert.equal(await stateOf(jobIdOf(r.stdout)), 'Failed')
  })

  it('--dry-run needs no server', async () => {
    // Port 1: nothing listens there, and a dry run must not try.
    const r = await runCli(['docker', 'run', '--dry-run', IMAGE, '--', 'echo', 'hello'], {
      env: { BACALHAU_API_HOST: '127.0.0.1', BACALHAU_API_PORT: '1' },
      cwd: work,
    })
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(YAML.parse(r.stdout).Tasks[0].Engine, {
      Type: 'docker',
      Params: { Image: IMAGE, Parameters: ['echo', 'hello'], EnvironmentVariables: [] },
    })
  })
})
