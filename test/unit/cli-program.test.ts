// The CLI as a process, for everything that needs no node: dry runs, validation,
// config commands and the one-line errors.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, describe, it } from 'node:test'
import YAML from 'yaml'
import { projectRoot } from '../../src/util/paths.js'

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))
const fixture = (name: string) => path.join(projectRoot(), 'fixtures', 'wasm', name)
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-prog-'))
after(() => fs.rmSync(tmp, { recursive: true, force: true }))

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

function cli(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const home = path.join(tmp, 'home')
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: home, ...opts.env }
    const p = spawn(process.execPath, [CLI, ...args], { env, cwd: tmp })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    p.on('exit', (code) => resolve({ code, stdout, stderr }))
    p.stdin.end(opts.input ?? '')
  })
}

function assertOneLineError(r: Result, pattern: RegExp) {
  assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`)
  assert.equal(r.stdout, '')
  const lines = r.stderr
    .trimEnd()
    .split('\n')
    .filter((l) => !l.startsWith('Hint: '))
  assert.equal(lines.length, 1, `one error line expected, got:\n${r.stderr}`)
  assert.match(lines[0], pattern)
  assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace')
}

async function closedPort(): Promise<number> {
  const s = http.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

describe('bacalhau wasm run --dry-run', () => {
  it('prints the job as YAML with the module embedded inline', async () => {
    const r = await cli([
      'wasm',
      'run',
      fixture('hello.wasm'),
      'a',
      '--dry-run',
      '-e',
      'A=1',
      '-i',
      'https://example.com/d.txt:/data',
      '-o',
      'outputs:/outputs',
      '-p',
      'local',
      '--cpu',
      '500m',
      '--memory',
      '64Mb',
      '--timeout',
      '60',
      '--network',
      'none',
      '-l',
      'team=ml',
      '--name',
      'hi',
      '--',
      '-b',
      '--dry-run',
    ])
    assert.equal(r.code, 0, r.stderr)
    const job = YAML.parse(r.stdout)
    assert.equal(job.Name, 'hi')
    assert.equal(job.Type, 'batch')
    assert.equal(job.Count, 1)
    assert.deepEqual(job.Labels, { team: 'ml' })
    const task = job.Tasks[0]
    assert.deepEqual(task.Engine.Params, {
      EntryModule: 'main.wasm',
      Entrypoint: '_start',
      Parameters: ['a', '-b', '--dry-run'],
      ImportModules: [],
    })
    assert.equal(task.InputSources[0].Source.Type, 'inline')
    assert.match(task.InputSources[0].Source.Params.URL, /^data:application\/gzip;base64,/)
    assert.equal(task.InputSources[0].Target, 'main.wasm')
    assert.deepEqual(task.InputSources[1], {
      Source: { Type: 'urlDownload', Params: { URL: 'https://example.com/d.txt' } },
      Alias: 'https://example.com/d.txt',
      Target: '/data',
    })
    assert.deepEqual(task.ResultPaths, [{ Name: 'outputs', Path: '/outputs' }])
    assert.deepEqual(task.Publisher, { Type: 'local' })
    assert.deepEqual(task.Env, { A: '1' })
    assert.deepEqual(task.Resources, { CPU: '500m', Memory: '64Mb' })
    assert.deepEqual(task.Network, { Type: 'None' })
    assert.deepEqual(task.Timeouts, { TotalTimeout: 60 })
  })

  it('embeds small modules as a plain data URL, honours path:target and --target all', async () => {
    const r = await cli([
      'wasm',
      'run',
      `${fixture('mathlib.wasm')}:/app/m.wasm`,
      '--dry-run',
      '--target',
      'all',
      '--entry-point',
      'run',
    ])
    assert.equal(r.code, 0, r.stderr)
    const job = YAML.parse(r.stdout)
    assert.equal(job.Type, 'ops')
    assert.equal(job.Count, 0)
    const task = job.Tasks[0]
    assert.equal(task.Engine.Params.EntryModule, '/app/m.wasm')
    assert.equal(task.Engine.Params.Entrypoint, 'run')
    assert.match(task.InputSources[0].Source.Params.URL, /^data:application\/wasm;base64,AGFzbQ/)
    assert.equal(task.InputSources[0].Target, '/app/m.wasm')
  })

  it('takes an entry module from a URL or an -i mount, and import modules by path:target', async () => {
    let r = await cli(['wasm', 'run', 'https://example.com/m.wasm', '--dry-run'])
    assert.equal(r.code, 0, r.stderr)
    let task = YAML.parse(r.stdout).Tasks[0]
    assert.equal(task.Engine.Params.EntryModule, 'main.wasm')
    assert.deepEqual(task.InputSources[0].Source, {
      Type: 'urlDownload',
      Params: { URL: 'https://example.com/m.wasm' },
    })
    r = await cli([
      'wasm',
      'run',
      '/app/m.wasm',
      '-i',
      'https://example.com/m.wasm:/app',
      '-I',
      `${fixture('mathlib.wasm')}:/lib/math.wasm`,
      '--dry-run',
    ])
    assert.equal(r.code, 0, r.stderr)
    task = YAML.parse(r.stdout).Tasks[0]
    assert.equal(task.Engine.Params.EntryModule, '/app/m.wasm')
    assert.deepEqual(task.Engine.Params.ImportModules, ['/lib/math.wasm'])
    assert.deepEqual(
      task.InputSources.map((i: { Target: string }) => i.Target),
      ['/lib/math.wasm', '/app'],
    )
  })

  it('gives one clear line for bad input', async () => {
    assertOneLineError(
      await cli(['wasm', 'run', 'missing.wasm', '--dry-run']),
      /^Error: entry module "missing.wasm" not found: no such local file, and no --input mounts that path$/,
    )
    assertOneLineError(
      await cli(['wasm', 'run', fixture('hello.wasm'), '--dry-run', '-i', 'ftp://x/y']),
      /^Error: --input: unknown storage schema "ftp"/,
    )
    assertOneLineError(
      await cli(['wasm', 'run', fixture('hello.wasm'), '--dry-run', '-p', 'dropbox']),
      /^Error: --publisher: unknown publisher type "dropbox"/,
    )
    assertOneLineError(
      await cli(['wasm', 'run', fixture('hello.wasm'), '--dry-run', '-o', 'nocolon']),
      /^Error: --output: invalid output "nocolon"/,
    )
    assertOneLineError(
      await cli(['wasm', 'run', fixture('hello.wasm'), '--dry-run', '--memory', 'lots']),
      /^Error: invalid value "lots" for --memory/,
    )
    assertOneLineError(
      await cli(['wasm', 'run', fixture('hello.wasm'), '--dry-run', '--count', 'x']),
      /^Error: option '--count <n>' argument 'x' is invalid\. expected an integer\.$/,
    )
    assertOneLineError(
      await cli(['wasm', 'run', fixture('hello.wasm'), '--dry-run', '--network', 'wifi']),
      /^Error: invalid value "wifi" for --network/,
    )
    assertOneLineError(
      await cli(['wasm', 'run', fixture('hello.wasm'), '--dry-run', '--target', 'some']),
      /^Error: option '--target <target>' argument 'some' is invalid\. Allowed choices are any, all\.$/,
    )
    assertOneLineError(
      await cli(['wasm', 'run', fixture('hello.wasm'), '--wait=maybe']),
      /^Error: invalid argument "maybe" for "--wait" flag/,
    )
    assertOneLineError(
      await cli(['wasm', 'run', fixture('hello.wasm'), '--dry-run', '--constraints', 'a=(']),
      /^Error: --constraints: invalid label selector term/,
    )
    assertOneLineError(
      await cli(['wasm', 'run', fixture('hello.wasm'), '--dry-run', '-I', fixture('mathlib.wasm')]),
      /^Error: import module ".*mathlib.wasm": a local module needs a target path/,
    )
    assertOneLineError(
      await cli(['wasm', 'run', fixture('hello.wasm'), '--dry-run', '--domain', 'x.org']),
      /^Error: --domain can only be used with --network=HTTP$/,
    )
  })
})

describe('bacalhau job run/validate offline', () => {
  const spec =
    'Name: t-{{.who}}\nType: batch\nTasks:\n  - Name: main\n    Engine:\n      Type: wasm\n      Params: {EntryModule: /m.wasm, Entrypoint: _start}\n'

  it('templates and prints a spec from stdin with --dry-run', async () => {
    const r = await cli(['job', 'run', '--dry-run', '-V', 'who=me'], { input: spec })
    assert.equal(r.code, 0, r.stderr)
    assert.equal(YAML.parse(r.stdout).Name, 't-me')
    const e = await cli(['job', 'run', '-', '--dry-run', '-E', '^WHO$'], {
      input: spec.replace('{{.who}}', '{{.WHO}}'),
      env: { WHO: 'env' },
    })
    assert.equal(YAML.parse(e.stdout).Name, 't-env')
    const raw = await cli(['job', 'run', '--dry-run', '--no-template'], {
      input: spec.replace('t-{{.who}}', '"{{.who}}"'),
    })
    assert.equal(YAML.parse(raw.stdout).Name, '{{.who}}')
  })

  it('gives one clear line for bad job files', async () => {
    const bad = path.join(tmp, 'bad.yaml')
    fs.writeFileSync(bad, 'Type: batch\nTasks: [\n')
    assertOneLineError(
      await cli(['job', 'run', bad]),
      new RegExp(`^Error: ${bad}: invalid YAML: .* at line \\d+, column \\d+$`),
    )
    const badJson = path.join(tmp, 'bad.json')
    fs.writeFileSync(badJson, '{"Type": "batch",}')
    assertOneLineError(await cli(['job', 'run', badJson]), /^Error: .*bad.json: invalid JSON: /)
    assertOneLineError(await cli(['job', 'run', path.join(tmp, 'nope.yaml')]), /nope.yaml: no such file$/)
    const r = await cli(['job', 'run', '--dry-run'], { input: spec })
    assert.equal(r.code, 1)
    assert.match(
      r.stderr,
      /^Reading from \/dev\/stdin; send Ctrl-d to stop\.\nError: stdin: template: stdin:1:9: executing "stdin" at <.who>: map has no entry for key "who"\nHint: set it with -V who=/,
    )
  })

  it('validates a spec locally', async () => {
    const good = path.join(tmp, 'good.yaml')
    fs.writeFileSync(good, spec.replace('t-{{.who}}', 'ok'))
    const ok = await cli(['job', 'validate', good])
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(ok.stdout, 'OK\n')
    const badType = path.join(tmp, 'badtype.yaml')
    fs.writeFileSync(badType, 'Type: nightly\nTasks: []\n')
    const r = await cli(['job', 'validate', badType])
    assert.equal(r.code, 1)
    assert.match(
      r.stderr,
      /^Error: invalid job spec: invalid job type: "nightly"; missing job tasks\nJob Specification: https:\/\/docs.bacalhau.org\/cli-api\/specifications\/job\n$/,
    )
  })
})

describe('bacalhau config', () => {
  it('sets, gets and lists keys', async () => {
    const dataDir = path.join(tmp, 'dd')
    let r = await cli(['--data-dir', dataDir, 'config', 'set', 'api.port=4321'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, `Writing config to ${path.join(dataDir, 'config.yaml')}\n`)
    r = await cli(['--data-dir', dataDir, 'config', 'get', 'API.Port'])
    assert.equal(r.stdout, '4321\n')
    r = await cli(['--data-dir', dataDir, 'config', 'set', 'Compute.AllowListedLocalPaths', '/a', '/b:rw'])
    assert.equal(r.code, 0)
    assert.match(r.stderr, /^DEPRECATED: use `bacalhau config set KEY=VALUE` instead/)
    r = await cli(['--data-dir', dataDir, 'config', 'get', 'compute.allowlistedlocalpaths'])
    assert.equal(r.stdout, '/a,/b:rw\n')
    r = await cli(['--data-dir', dataDir, 'config', 'list'])
    assert.match(r.stdout, /^ KEY +VALUE +DESCRIPTION\n/)
    assert.match(r.stdout, /\n API\.Port +4321 +Port of the API\.\n/)
    r = await cli(['--data-dir', dataDir, 'config', 'list', '--output', 'yaml'])
    assert.equal(YAML.parse(r.stdout).API.Port, 4321)
    const file = path.join(tmp, 'explicit.yaml')
    r = await cli(['-c', file, 'config', 'set', 'WebUI.Enabled=true'])
    assert.equal(r.stdout, `Writing config to ${file}\n`)
    assert.deepEqual(YAML.parse(fs.readFileSync(file, 'utf8')), { WebUI: { Enabled: true } })
  })

  it('gives one clear line for bad keys and values', async () => {
    assertOneLineError(
      await cli(['config', 'set', 'API.Port=abc']),
      /^Error: config key API.Port: invalid integer "abc"$/,
    )
    assertOneLineError(await cli(['config', 'get', 'API.Nope']), /^Error: unknown config key "API.Nope"/)
    assertOneLineError(await cli(['-c', 'Nope=1', 'config', 'list']), /^Error: unknown config key "Nope"/)
    assertOneLineError(
      await cli(['config', 'list'], { env: { BACALHAU_API_PORT: 'x' } }),
      /^Error: config key API.Port: invalid integer "x" \(from environment variable BACALHAU_API_PORT\)$/,
    )
    assertOneLineError(await cli(['--data-dir', '$HOME/x', 'config', 'list']), /must not contain '\$'/)
    assertOneLineError(
      await cli(['config', 'list', '--output', 'xml']),
      /^Error: option '--output <format>' argument 'xml' is invalid/,
    )
  })
})

describe('client commands without a node', () => {
  it('name the unreachable API in one line', async () => {
    const port = await closedPort()
    for (const args of [
      ['job', 'list'],
      ['job', 'describe', 'j-1'],
      ['agent', 'alive'],
      ['wasm', 'run', fixture('hello.wasm')],
    ]) {
      assertOneLineError(
        await cli(['--api-port', String(port), ...args]),
        new RegExp(
          `^Error: cannot reach the Bacalhau API at http://127\\.0\\.0\\.1:${port}: connection refused — is a node running\\? \\(bacalhau serve\\)$`,
        ),
      )
    }
    const env = await cli(['job', 'list'], {
      env: { BACALHAU_API_HOST: 'http://127.0.0.1', BACALHAU_API_PORT: String(port) },
    })
    assert.match(env.stderr, new RegExp(`at http://127\\.0\\.0\\.1:${port}:`))
  })

  it('version falls back to the client column', async () => {
    const port = await closedPort()
    const r = await cli(['--api-port', String(port), 'version'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^ CLIENT\n v\d+\.\d+\.\d+\n$/)
    const j = await cli(['version', '--client', '--output', 'json'])
    assert.match(JSON.parse(j.stdout).clientVersion.GitVersion, /^v\d/)
  })

  it('reports unknown commands and options as errors', async () => {
    const r = await cli(['job', 'frobnicate'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^Error: unknown command 'frobnicate'/)
    const o = await cli(['job', 'list', '--bogus'])
    assert.equal(o.code, 1)
    assert.match(o.stderr, /^Error: unknown option '--bogus'/)
  })
})
