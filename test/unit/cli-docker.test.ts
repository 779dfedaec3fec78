// `bacalhau docker run`: the job it builds (read back from --dry-run, so the flag wiring is
// under test too) and its one-line errors. Nothing here needs a node or a Docker Engine.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, describe, it } from 'node:test'
import YAML from 'yaml'
import { dockerEngineSpec } from '../../src/cli/docker.js'
import { CliError } from '../../src/cli/errors.js'

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-docker-'))
after(() => fs.rmSync(tmp, { recursive: true, force: true }))

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

function cli(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    // A port nothing listens on: a dry run must not need it.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: path.join(tmp, 'home'),
      BACALHAU_API_HOST: '127.0.0.1',
      BACALHAU_API_PORT: '1',
    }
    const p = spawn(process.execPath, [CLI, ...args], { env, cwd: tmp })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    p.on('exit', (code) => resolve({ code, stdout, stderr }))
    p.stdin.end()
  })
}

/** The job `docker run ARGS --dry-run` prints. */
async function dryRun(...args: string[]): Promise<any> {
  const r = await cli(['docker', 'run', '--dry-run', ...args])
  assert.equal(r.code, 0, `exit code; stderr: ${r.stderr}`)
  assert.equal(r.stderr, '')
  return YAML.parse(r.stdout)
}

const taskOf = (job: any) => {
  assert.equal(job.Tasks.length, 1)
  return job.Tasks[0]
}

/** Asserts exit 1, nothing on stdout, and one `Error:` line (plus optional hints). */
function assertOneLineError(r: Result, pattern: RegExp): string[] {
  assert.equal(r.code, 1, `exit code; stdout: ${r.stdout}\nstderr: ${r.stderr}`)
  assert.equal(r.stdout, '')
  const lines = r.stderr.trimEnd().split('\n')
  const errors = lines.filter((l) => !l.startsWith('Hint: '))
  assert.equal(errors.length, 1, `one error line expected, got:\n${r.stderr}`)
  assert.match(errors[0], pattern)
  assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace')
  return lines.filter((l) => l.startsWith('Hint: '))
}

describe('bacalhau docker run --dry-run', { concurrency: 4 }, () => {
  it('builds a batch job with one docker task: IMAGE -- COMMAND ARGS', async () => {
    const job = await dryRun('busybox:1.37.0', '--', 'echo', 'hello')
    assert.deepEqual(job, {
      Namespace: 'default',
      Type: 'batch',
      Count: 1,
      Tasks: [
        {
          Name: 'main',
          Engine: {
            Type: 'docker',
            Params: { Image: 'busybox:1.37.0', Parameters: ['echo', 'hello'], EnvironmentVariables: [] },
          },
        },
      ],
    })
  })

  it('takes COMMAND and ARGS without --, and an image without a tag as given', async () => {
    const job = await dryRun('ubuntu', 'echo', 'hello', 'world')
    assert.deepEqual(taskOf(job).Engine.Params, {
      Image: 'ubuntu',
      Parameters: ['echo', 'hello', 'world'],
      EnvironmentVariables: [],
    })
    const bare = await dryRun('busybox@sha256:' + 'a'.repeat(64))
    assert.deepEqual(taskOf(bare).Engine.Params.Parameters, [])
    assert.equal(taskOf(bare).Engine.Params.Image, 'busybox@sha256:' + 'a'.repeat(64))
  })

  it('--entrypoint replaces the image ENTRYPOINT; what follows -- stays the command line', async () => {
    const job = await dryRun(
      '--entrypoint',
      '/bin/sh',
      'ubuntu',
      '--',
      '-c',
      'echo x',
      '-w',
      '/tmp',
      '--dry-run',
    )
    assert.deepEqual(taskOf(job).Engine.Params, {
      Image: 'ubuntu',
      Entrypoint: ['/bin/sh'],
      Parameters: ['-c', 'echo x', '-w', '/tmp', '--dry-run'],
      EnvironmentVariables: [],
    })
  })

  it('--entrypoint is a string slice: comma lists, repeatable, and empty clears it', async () => {
    const job = await dryRun('--entrypoint', 'python,-u', '--entrypoint=-c', 'python:3.12', '--', 'print(1)')
    assert.deepEqual(taskOf(job).Engine.Params.Entrypoint, ['python', '-u', '-c'])
    assert.deepEqual(taskOf(job).Engine.Params.Parameters, ['print(1)'])
    // Absent means "keep the image's"; an explicit empty list is what clears it in Docker.
    const cleared = await dryRun('--entrypoint', '', 'busybox')
    assert.deepEqual(taskOf(cleared).Engine.Params.Entrypoint, [])
  })

  it('passes a second -- on to the container, as cobra does', async () => {
    const job = await dryRun('busybox', '--', '--', 'x')
    assert.deepEqual(taskOf(job).Engine.Params.Parameters, ['--', 'x'])
  })

  it('-w/--workdir sets WorkingDirectory', async () => {
    assert.equal(
      taskOf(await dryRun('-w', '/work', 'busybox', 'pwd')).Engine.Params.WorkingDirectory,
      '/work',
    )
    assert.equal(
      taskOf(await dryRun('busybox', '--workdir=/a/b', 'pwd')).Engine.Params.WorkingDirectory,
      '/a/b',
    )
  })

  it('a relative --workdir is refused before anything is sent', async () => {
    for (const dir of ['work', './work', '~/work']) {
      const r = await cli(['docker', 'run', '-w', dir, 'busybox', 'pwd'])
      assertOneLineError(
        r,
        new RegExp(
          `^Error: invalid value "${dir.replace('.', '\\.')}" for --workdir: must be an absolute path`,
        ),
      )
    }
  })

  it('-e sets the task Env (v1.7+), not the engine EnvironmentVariables', async () => {
    const task = taskOf(await dryRun('-e', 'A=1', '-e', 'B=2,C=x=y', 'busybox', 'env'))
    assert.deepEqual(task.Env, { A: '1', B: '2', C: 'x=y' })
    assert.deepEqual(task.Engine.Params.EnvironmentVariables, [])
  })

  it('-i mounts inputs; -o with -p local publishes results', async () => {
    const task = taskOf(
      await dryRun(
        '-i',
        'file:///data:/inputs',
        '-i',
        'src=https://example.com/f.csv,dst=/in',
        '-o',
        'outputs:/outputs',
        '-p',
        'local',
        'busybox',
      ),
    )
    assert.deepEqual(task.InputSources, [
      {
        Source: { Type: 'local', Params: { SourcePath: '/data', ReadWrite: false } },
        Alias: 'file:///data',
        Target: '/inputs',
      },
      {
        Source: { Type: 'urlDownload', Params: { URL: 'https://example.com/f.csv' } },
        Alias: 'https://example.com/f.csv',
        Target: '/in',
      },
    ])
    assert.deepEqual(task.ResultPaths, [{ Name: 'outputs', Path: '/outputs' }])
    assert.deepEqual(task.Publisher, { Type: 'local' })
  })

  it('resources, network and timeouts go on the task', async () => {
    const task = taskOf(
      await dryRun(
        '--cpu',
        '500m',
        '--memory',
        '64mb',
        '--disk',
        '1Gb',
        '--network',
        'host',
        '--timeout',
        '30',
        '--queue-timeout',
        '5',
        'busybox',
      ),
    )
    assert.deepEqual(task.Resources, { CPU: '500m', Memory: '64mb', Disk: '1Gb' })
    assert.deepEqual(task.Network, { Type: 'Host' })
    assert.deepEqual(task.Timeouts, { TotalTimeout: 30, QueueTimeout: 5 })
    const http = taskOf(await dryRun('--network', 'HTTP', '--domain', 'example.com', 'busybox'))
    assert.deepEqual(http.Network, { Type: 'HTTP', Domains: ['example.com'] })
  })

  it('--target all makes an ops job; --count sets Count', async () => {
    const ops = await dryRun('--target', 'all', 'busybox')
    assert.equal(ops.Type, 'ops')
    assert.equal(ops.Count, 0)
    const three = await dryRun('--count', '3', 'busybox')
    assert.equal(three.Type, 'batch')
    assert.equal(three.Count, 3)
    assert.equal((await dryRun('--concurrency', '2', 'busybox')).Count, 2)
  })

  it('job metadata: name, namespace, priority, labels, constraints and task name', async () => {
    const job = await dryRun(
      '--name',
      'hello',
      '--namespace',
      'team',
      '--priority',
      '5',
      '-l',
      'team=ml,tier',
      '--labels',
      'x=y',
      '--constraints',
      'region=eu,gpu!=none',
      '--task-name',
      'say',
      'busybox',
    )
    assert.equal(job.Name, 'hello')
    assert.equal(job.Namespace, 'team')
    assert.equal(job.Priority, 5)
    assert.deepEqual(job.Labels, { team: 'ml', tier: '', x: 'y' })
    assert.deepEqual(job.Constraints, [
      { Key: 'region', Operator: '=', Values: ['eu'] },
      { Key: 'gpu', Operator: '!=', Values: ['none'] },
    ])
    assert.equal(taskOf(job).Name, 'say')
    const sel = await dryRun('-s', 'zone in (a,b)', 'busybox')
    assert.deepEqual(sel.Constraints, [{ Key: 'zone', Operator: 'in', Values: ['a', 'b'] }])
  })

  it('bad flag values fail in one line that names the flag', async () => {
    assertOneLineError(await cli(['docker', 'run', '--memory', 'lots', 'busybox']), /^Error: .*--memory/)
    assertOneLineError(await cli(['docker', 'run', '--cpu', 'many', 'busybox']), /^Error: .*--cpu/)
    assertOneLineError(await cli(['docker', 'run', '-i', 'nope://x', 'busybox']), /^Error: --input: .*nope/)
    assertOneLineError(await cli(['docker', 'run', '-o', 'outputs', 'busybox']), /^Error: --output: /)
    assertOneLineError(await cli(['docker', 'run', '-l', 'bad key', 'busybox']), /^Error: .*--labels/)
    assertOneLineError(await cli(['docker', 'run', '--network', 'moon', 'busybox']), /--network/)
    assertOneLineError(await cli(['docker', 'run', '--count', 'x', 'busybox']), /--count/)
  })

  it('a missing or empty IMAGE fails in one line with the usage as a hint', async () => {
    for (const args of [[], ['--dry-run'], ['--cpu', '1', '--', ''], ['']]) {
      const r = await cli(['docker', 'run', ...args])
      const hints = assertOneLineError(r, /^Error: (missing IMAGE|IMAGE must not be empty)/)
      assert.deepEqual(hints, [
        'Hint: usage: bacalhau docker run [flags] IMAGE[:TAG|@DIGEST] [COMMAND] [ARG...]',
      ])
    }
  })

  it('an unknown option after the image hints at --; before it, it does not', async () => {
    const after = await cli(['docker', 'run', 'busybox', 'ls', '--all'])
    assert.deepEqual(assertOneLineError(after, /^Error: unknown option '--all'$/), [
      "Hint: put -- before the container's arguments, e.g. bacalhau docker run IMAGE -- ls -la",
    ])
    const before = await cli(['docker', 'run', '--bogus', 'busybox'])
    assert.deepEqual(assertOneLineError(before, /^Error: unknown option '--bogus'$/), [])
  })

  it('is listed in help', async () => {
    const r = await cli(['docker', 'run', '--help'])
    assert.equal(r.code, 0)
    assert.match(
      r.stdout,
      /^Usage: bacalhau docker run \[flags\] IMAGE\[:TAG\|@DIGEST\] \[COMMAND\] \[ARG\.\.\.\]\n/,
    )
    for (const flag of ['--workdir', '--entrypoint', '--input', '--publisher', '--dry-run', '--id-only'])
      assert.ok(r.stdout.includes(flag), flag)
  })
})

describe('dockerEngineSpec', () => {
  it('builds the engine params', () => {
    assert.deepEqual(dockerEngineSpec('img:1', ['a', 'b'], { workdir: '/w', entrypoint: ['sh,-c'] }), {
      Type: 'docker',
      Params: {
        Image: 'img:1',
        Entrypoint: ['sh', '-c'],
        Parameters: ['a', 'b'],
        WorkingDirectory: '/w',
        EnvironmentVariables: [],
      },
    })
    assert.deepEqual(dockerEngineSpec('img', undefined, {}).Params, {
      Image: 'img',
      Parameters: [],
      EnvironmentVariables: [],
    })
  })

  it('throws CliErrors for a missing image and a relative workdir', () => {
    assert.throws(
      () => dockerEngineSpec(undefined, [], {}),
      (e) => e instanceof CliError && /missing IMAGE/.test(e.message),
    )
    assert.throws(() => dockerEngineSpec(' ', [], {}), CliError)
    assert.throws(() => dockerEngineSpec('busybox echo', [], {}), /invalid IMAGE "busybox echo"/)
    assert.throws(
      () => dockerEngineSpec('img', [], { workdir: 'rel/dir' }),
      (e) => e instanceof CliError && /--workdir/.test(e.message),
    )
  })
})
