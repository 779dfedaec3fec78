// The `bacalhau` CLI as a user runs it, against a real node process.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { projectRoot } from '../../src/util/paths.js'
import {
  CLI_ENTRY,
  api,
  runCli,
  startNodeProcess,
  type CliResult,
  type NodeProcess,
} from '../helpers/node-process.js'

const fixture = (name: string) => path.join(projectRoot(), 'fixtures', 'wasm', name)
const example = (name: string) => path.join(projectRoot(), 'examples', name)

function assertOneLineError(r: CliResult, pattern: RegExp) {
  assert.equal(r.code, 1, `exit code; stdout: ${r.stdout}\nstderr: ${r.stderr}`)
  const lines = r.stderr
    .trimEnd()
    .split('\n')
    .filter((l) => !l.startsWith('Hint: '))
  assert.equal(lines.length, 1, `one error line expected, got:\n${r.stderr}`)
  assert.match(lines[0], pattern)
}

const jobIdOf = (stdout: string) => {
  const m = /Job successfully submitted\. Job ID: (j-[0-9a-f-]+)/.exec(stdout)
  assert.ok(m, `no job ID in:\n${stdout}`)
  return m[1]
}

describe('bacalhau CLI against a real node', () => {
  let node: NodeProcess
  let work: string
  let helloId: string
  const cli = (args: string[], opts: { input?: string; env?: Record<string, string> } = {}) =>
    runCli(args, { port: node.port, cwd: work, timeoutMs: 60_000, ...opts })

  before(async () => {
    node = await startNodeProcess()
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-e2e-'))
  })
  after(async () => {
    await node.stop()
    fs.rmSync(node.dataDir, { recursive: true, force: true })
    fs.rmSync(work, { recursive: true, force: true })
  })

  it('wasm run: submits, shows progress and the footer, exits 0', async () => {
    const r = await cli(['wasm', 'run', fixture('hello.wasm'), '-p', 'local'])
    assert.equal(r.code, 0, r.stderr)
    helloId = jobIdOf(r.stdout)
    assert.match(
      r.stdout,
      /Checking job status\.\.\. \(Enter Ctrl\+C to exit at any time, your job will continue running\):\n\n TIME {10}EXEC\. ID {4}TOPIC {18}EVENT\n/,
    )
    assert.match(r.stdout, /\n \d\d:\d\d:\d\d\.\d{3} {14}Submission {13}Job submitted\n/)
    assert.match(
      r.stdout,
      /\n \d\d:\d\d:\d\d\.\d{3} {2}e-[0-9a-f]{8} {2}Execution {14}Completed successfully\n/,
    )
    assert.ok(
      r.stdout.endsWith(
        `\nTo get more details about the run, execute:\n\tbacalhau job describe ${helloId}\n` +
          `\nTo get more details about the run executions, execute:\n\tbacalhau job executions ${helloId}\n` +
          `\nTo download the results, execute:\n\tbacalhau job get ${helloId}\n`,
      ),
      r.stdout,
    )
  })

  it('job describe: human layout and exact JSON', async () => {
    const r = await cli(['job', 'describe', helloId.slice(0, 10)])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`^ID {12}= ${helloId}\n`))
    assert.match(r.stdout, /\nState {9}= Completed\n/)
    assert.match(r.stdout, /\nSummary\nCompleted = 1\n/)
    assert.match(
      r.stdout,
      /\nExecutions\n ID +NODE ID +STATE +DESIRED +REV\. +CREATED +MODIFIED +COMMENT\n e-[0-9a-f]{8} /,
    )
    assert.match(r.stdout, /\nStandard Output\nHello, World!\n$/)
    const j = await cli(['job', 'describe', helloId, '--output', 'json'])
    const raw = await fetch(`${node.apiUrl}/api/v1/orchestrator/jobs/${helloId}`).then((res) => res.text())
    const created = (s: string) => /"CreateTime":(\d+)/.exec(s)?.[1]
    assert.ok(created(raw))
    assert.equal(created(j.stdout), created(raw))
    assert.equal(JSON.parse(j.stdout).Job.ID, helloId)
    const y = await cli(['job', 'describe', helloId, '--output', 'yaml'])
    assert.match(y.stdout, new RegExp(`CreateTime: ${created(raw)}\n`))
  })

  it('job list, executions and history print tables', async () => {
    const list = await cli(['job', 'list'])
    assert.equal(list.code, 0, list.stderr)
    assert.match(list.stdout, /^ CREATED +ID +NAME +JOB +TYPE +STATE\n/)
    assert.match(list.stdout, new RegExp(` ${helloId.slice(0, 10)} +${helloId} +wasm +batch +Completed`))
    const json = await cli(['job', 'list', '--output', 'json'])
    assert.ok(JSON.parse(json.stdout).some((j: { ID: string }) => j.ID === helloId))
    const execs = await cli(['job', 'executions', helloId])
    assert.match(execs.stdout, /^ CREATED +MODIFIED +ID +JOB VERSION +NODE ID +REV\. +STATE +DESIRED\n/)
    assert.match(execs.stdout, / e-[0-9a-f]{8} +1 +n-[0-9a-f]{8} +\d+ +Completed +Stopped\n/)
    const hist = await cli(['job', 'history', helloId, '--event-type', 'execution'])
    assert.match(hist.stdout, /^ TIME +LEVEL +JOB VERSION +EXEC\. ID +TOPIC +EVENT\n/)
    assert.match(hist.stdout, /Execution +1 +e-[0-9a-f]{8} +Execution +Completed successfully/)
    assert.ok(!/ Job +1 /.test(hist.stdout))
  })

  it('job logs writes the output raw', async () => {
    const r = await cli(['job', 'logs', helloId])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, 'Hello, World!\n')
  })

  it('job get downloads and merges the results', async () => {
    const out = path.join(work, 'results')
    const r = await cli(['job', 'get', helloId, '--output-dir', out])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, `Results for job '${helloId}' have been written to...\n${out}\n`)
    assert.equal(fs.readFileSync(path.join(out, 'stdout'), 'utf8'), 'Hello, World!\n')
    assert.equal(fs.readFileSync(path.join(out, 'exitCode'), 'utf8'), '0')
    assert.ok(!fs.existsSync(path.join(out, 'raw')))
    const short = helloId.slice(0, 10)
    const d = await cli(['job', 'get', short])
    assert.equal(d.code, 0, d.stderr)
    assert.equal(fs.readFileSync(path.join(work, `job-${short}`, 'stdout'), 'utf8'), 'Hello, World!\n')
  })

  it('job run submits a YAML file; --id-only and --wait=false print just the ID', async () => {
    const r = await cli(['job', 'run', example('wasm-hello.yaml'), '--force'])
    assert.equal(r.code, 0, r.stderr)
    const id = jobIdOf(r.stdout)
    assert.match(r.stdout, /Completed successfully/)
    const idOnly = await cli(['job', 'run', example('wasm-hello.yaml'), '--force', '--id-only'])
    assert.equal(idOnly.code, 0, idOnly.stderr)
    assert.equal(idOnly.stdout, `${id}\n`)
    const noWait = await cli(['job', 'run', example('wasm-hello.yaml'), '--force', '--wait=false'])
    assert.equal(noWait.code, 0, noWait.stderr)
    assert.equal(noWait.stdout, `${id}\n`)
    const again = await cli(['job', 'run', example('wasm-hello.yaml')])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /^Error: no changes detected for new job spec/)
    assert.match(again.stderr, /\nHint: .*--force/)
  })

  it('wasm run -f streams the logs', async () => {
    const r = await cli(['wasm', 'run', fixture('args.wasm'), '-f', '--', 'one', '-two'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(
      r.stdout,
      /Waiting for logs\.\.\. \(Enter Ctrl\+C to exit at any time, your job will continue running\):\n\none\n-two\n/,
    )
  })

  it('a failed job prints Error: job failed and exits 1', async () => {
    const r = await cli(['wasm', 'run', fixture('hello.wasm'), '--entry-point', 'nope'])
    assert.equal(r.code, 1, r.stdout)
    assert.match(r.stdout, /Error: unable to find the entrypoint 'nope'/)
    assert.match(r.stderr, /Error: job failed\n$/)
    assert.match(r.stdout, /To get more details about the run, execute:/)
  })

  it('job stop refuses a finished job', async () => {
    const r = await cli(['job', 'stop', helloId])
    assert.equal(r.code, 1)
    assert.equal(r.stderr, 'Error: Job is already in a terminal state.\nThe current state is: Completed\n')
  })

  it('job stop stops a queued job', async () => {
    const sub = await api(node, 'PUT', '/api/v1/orchestrator/jobs', {
      Job: {
        Type: 'batch',
        Count: 1,
        Constraints: [{ Key: 'nosuchlabel', Operator: 'exists' }],
        Tasks: [{ Name: 'main', Engine: { Type: 'noop' }, Timeouts: { QueueTimeout: 600 } }],
      },
    })
    assert.equal(sub.status, 200, JSON.stringify(sub.body))
    const r = await cli(['job', 'stop', sub.body.JobID])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^Job stop successfully submitted with evaluation ID: \S+\n$/)
  })

  it('agent, node and version commands', async () => {
    const alive = await cli(['agent', 'alive'])
    assert.equal(alive.stdout, 'Status: OK\n')
    const version = await cli(['agent', 'version'])
    assert.match(version.stdout, /^Bacalhau v\d+\.\d+\.\d+\nBuildDate .+\nGitCommit [0-9a-f]+\n$/)
    const info = await cli(['agent', 'node', '--output', 'json'])
    assert.match(JSON.parse(info.stdout).NodeID, /^n-/)
    const nodes = await cli(['node', 'list'])
    assert.match(nodes.stdout, /^ ID +TYPE +APPROVAL +STATUS +LABELS +CPU +MEMORY +DISK +GPU\n/)
    assert.match(nodes.stdout, /APPROVED +CONNECTED/)
    const v = await cli(['version'])
    assert.match(v.stdout, /^ CLIENT +SERVER\n v\S+ +v\S+\n$/)
  })

  it('bad inputs give one clear line and exit 1', async () => {
    assertOneLineError(await cli(['job', 'describe', 'j-deadbeef']), /^Error: .*j-deadbeef/)
    assertOneLineError(await cli(['job', 'logs', 'j-deadbeef']), /^Error: .*j-deadbeef/)
    assertOneLineError(
      await cli(['wasm', 'run', path.join(work, 'missing.wasm')]),
      /^Error: entry module ".*missing.wasm" not found/,
    )
    const bad = path.join(work, 'bad.yaml')
    fs.writeFileSync(bad, 'Type: batch\nTasks:\n  - Name: [\n')
    assertOneLineError(await cli(['job', 'run', bad]), /^Error: .*bad.yaml: invalid YAML: /)
    const r = await runCli(['job', 'list'], {
      env: { BACALHAU_API_HOST: '127.0.0.1', BACALHAU_API_PORT: '1' },
      cwd: work,
    })
    assertOneLineError(r, /^Error: cannot reach the Bacalhau API at http:\/\/127\.0\.0\.1:1: /)
  })
})

describe('bacalhau serve', () => {
  it('starts a node, writes bacalhau.run, answers the CLI and stops on SIGTERM', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'serve-'))
    const proc = spawn(
      process.execPath,
      [
        CLI_ENTRY,
        'serve',
        '--data-dir',
        dataDir,
        '--api-port',
        '0',
        '-c',
        'Publishers.Types.Local.Port=0',
        '-c',
        'Orchestrator.Port=0',
      ],
      {
        env: { ...process.env, LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let out = ''
    let err = ''
    proc.stdout.on('data', (d) => (out += d))
    proc.stderr.on('data', (d) => (err += d))
    const exited = new Promise<number | null>((r) => proc.on('exit', (c) => r(c)))
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}\n${err}`)), 20_000)
        proc.stdout.on('data', () => {
          const m = /API listening on (http:\/\/\S+)/.exec(out)
          if (m) {
            clearTimeout(timer)
            resolve(m[1])
          }
        })
        void exited.then((c) => reject(new Error(`serve exited with ${c}:\n${out}\n${err}`)))
      })
      assert.match(
        err,
        /Warning: neither --compute nor --orchestrator were provided, defaulting to orchestrator node\./,
      )
      const port = new URL(url).port
      const runFile = path.join(dataDir, 'bacalhau.run')
      assert.equal(
        fs.readFileSync(runFile, 'utf8'),
        `export BACALHAU_API_HOST=127.0.0.1\nexport BACALHAU_API_PORT=${port}\n`,
      )
      const alive = await runCli(['agent', 'alive'], { port: Number(port) })
      assert.equal(alive.stdout, 'Status: OK\n')
      proc.kill('SIGTERM')
      assert.equal(await exited, 0)
      assert.ok(!fs.existsSync(runFile))
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL')
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
