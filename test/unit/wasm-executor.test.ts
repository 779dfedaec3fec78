// WasmExecutor end to end: real WASI modules (fixtures/wasm, built from C by
// scripts/build-wasm-fixtures.sh) run in worker threads against host files.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { WasmExecutor, formatDuration } from '../../src/executors/wasm/index.js'
import type { PreparedInput, PreparedOutput, RunRequest, RunResult } from '../../src/executors/types.js'
import { projectRoot } from '../../src/util/paths.js'

const FIXTURES = path.join(projectRoot(), 'fixtures', 'wasm')
const fixture = (name: string): string => path.join(FIXTURES, `${name}.wasm`)

interface Chunk {
  stream: 'stdout' | 'stderr'
  at: number
  data: Uint8Array
}

interface RunOutcome {
  result: RunResult
  stdout: string
  stderr: string
  stdoutBytes: number
  chunks: Chunk[]
  ms: number
  resolvedAt: number
}

interface RunOptions {
  /** Fixture name mounted read-only at /app/<name>.wasm and used as EntryModule. */
  module?: string
  params?: Record<string, unknown>
  env?: Record<string, string>
  inputs?: PreparedInput[]
  outputs?: PreparedOutput[]
  timeoutMs?: number
  memoryBytes?: number
  signal?: AbortSignal
  /** Keep only a running byte count of stdout (for huge outputs). */
  countOnly?: boolean
}

async function runWasm(ex: WasmExecutor, opts: RunOptions): Promise<RunOutcome> {
  const inputs: PreparedInput[] = []
  const params: Record<string, unknown> = { ...opts.params }
  if (opts.module) {
    inputs.push({ hostPath: fixture(opts.module), target: `/app/${opts.module}.wasm`, readOnly: true })
    params.EntryModule ??= `/app/${opts.module}.wasm`
  }
  inputs.push(...(opts.inputs ?? []))
  const chunks: Chunk[] = []
  let stdoutBytes = 0
  const t0 = performance.now()
  const req: RunRequest = {
    executionId: 'e-test',
    jobId: 'j-test',
    engine: { Type: 'wasm', Params: params },
    env: opts.env ?? {},
    inputs,
    outputs: opts.outputs ?? [],
    output: {
      stdout: (data) => {
        stdoutBytes += data.length
        if (!opts.countOnly) chunks.push({ stream: 'stdout', at: performance.now() - t0, data })
      },
      stderr: (data) => chunks.push({ stream: 'stderr', at: performance.now() - t0, data }),
    },
    timeoutMs: opts.timeoutMs,
    memoryBytes: opts.memoryBytes,
    network: 'None',
  }
  const result = await ex.run(req, opts.signal ?? new AbortController().signal)
  const resolvedAt = performance.now() - t0
  const text = (s: Chunk['stream']): string =>
    Buffer.concat(chunks.filter((c) => c.stream === s).map((c) => c.data)).toString('utf8')
  return {
    result,
    stdout: text('stdout'),
    stderr: text('stderr'),
    stdoutBytes,
    chunks,
    ms: resolvedAt,
    resolvedAt,
  }
}

function tempDir(prefix = 'wasm-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '')

const ex = new WasmExecutor()
let tmp: string

before(() => {
  tmp = tempDir()
})

after(async () => {
  await ex.close()
  fs.rmSync(tmp, { recursive: true, force: true })
})

function scratch(name: string): string {
  const dir = path.join(tmp, name)
  fs.mkdirSync(dir, { recursive: true })
  return dir
}

describe('WasmExecutor basics', () => {
  it('is installed and named wasm', async () => {
    assert.equal(ex.name, 'wasm')
    assert.equal(await ex.isInstalled(), true)
  })

  it('runs hello.wasm: stdout, exit code 0, no error', async () => {
    const { result, stdout, stderr } = await runWasm(ex, { module: 'hello' })
    assert.deepEqual(result, { exitCode: 0 })
    assert.equal(stdout, 'Hello, World!\n')
    assert.equal(stderr, '')
  })

  it('passes Parameters as argv[1..] and the env sorted by key', async () => {
    const { result, stdout } = await runWasm(ex, {
      module: 'args',
      params: { Parameters: ['first', 'with space', 'héllo wörld'] },
      env: { ZED: 'last', ALPHA: 'a=b', MID: '' },
    })
    assert.equal(result.exitCode, 0)
    assert.deepEqual(lines(stdout), ['first', 'with space', 'héllo wörld', 'ALPHA=a=b', 'MID=', 'ZED=last'])
  })

  it('reads engine params case-insensitively', async () => {
    const { result, stdout } = await runWasm(ex, {
      inputs: [{ hostPath: fixture('args'), target: '/m/args.wasm', readOnly: true }],
      params: { entrymodule: '/m/args.wasm', PARAMETERS: ['x'], entryPoint: '_start' },
    })
    assert.equal(result.exitCode, 0)
    assert.deepEqual(lines(stdout), ['x'])
  })

  for (const code of [0, 3, 42]) {
    it(`reports exit code ${code} without an error`, async () => {
      const { result } = await runWasm(ex, { module: 'exitcode', params: { Parameters: [String(code)] } })
      assert.deepEqual(result, { exitCode: code })
    })
  }

  it('captures stderr separately from stdout', async () => {
    const { result, stdout, stderr, chunks } = await runWasm(ex, { module: 'stderr' })
    assert.equal(result.exitCode, 0)
    assert.equal(stdout, 'to stdout\n')
    assert.equal(stderr, 'to stderr\n')
    assert.ok(chunks.some((c) => c.stream === 'stderr'))
  })

  it('calls a custom Entrypoint instead of _start', async () => {
    const { result, stdout } = await runWasm(ex, { module: 'entry', params: { Entrypoint: 'greet' } })
    assert.equal(result.exitCode, 0)
    assert.equal(stdout, 'greetings from greet\n')
    const viaStart = await runWasm(ex, { module: 'entry' })
    assert.equal(viaStart.stdout, 'main ran\n')
  })

  it('formats durations like Go', () => {
    assert.equal(formatDuration(500), '500ms')
    assert.equal(formatDuration(1500), '1.5s')
    assert.equal(formatDuration(2000), '2s')
    assert.equal(formatDuration(90_000), '1m30s')
    assert.equal(formatDuration(3_600_000), '1h0m0s')
  })
})

describe('WasmExecutor errors', () => {
  it('names a missing entrypoint', async () => {
    const { result, stdout } = await runWasm(ex, { module: 'hello', params: { Entrypoint: 'nope' } })
    assert.equal(result.exitCode, -1)
    assert.equal(result.error, "unable to find the entrypoint 'nope' in the WASM module")
    assert.equal(stdout, '')
  })

  it('fails clearly when the EntryModule file is missing', async () => {
    const { result } = await runWasm(ex, { module: 'hello', params: { EntryModule: '/app/missing.wasm' } })
    assert.equal(result.exitCode, -1)
    assert.match(result.error ?? '', /entry module '\/app\/missing\.wasm' not found in the task filesystem/)
  })

  it('rejects a job without EntryModule', async () => {
    const { result } = await runWasm(ex, { params: {} })
    assert.equal(result.exitCode, -1)
    assert.match(result.error ?? '', /EntryModule is required/)
    assert.match(ex.validate({ Type: 'wasm', Params: {} }) ?? '', /EntryModule/)
    assert.equal(
      ex.validate({ Type: 'wasm', Params: { EntryModule: '/a.wasm', Parameters: ['x'] } }),
      undefined,
    )
    assert.match(
      ex.validate({ Type: 'wasm', Params: { EntryModule: '/a.wasm', Parameters: [1] } }) ?? '',
      /Parameters/,
    )
  })

  it('fails on a file that is not WebAssembly', async () => {
    const bogus = path.join(scratch('bogus'), 'bogus.wasm')
    fs.writeFileSync(bogus, 'not wasm at all')
    const { result } = await runWasm(ex, {
      inputs: [{ hostPath: bogus, target: '/app/bogus.wasm', readOnly: true }],
      params: { EntryModule: '/app/bogus.wasm' },
    })
    assert.equal(result.exitCode, -1)
    assert.match(result.error ?? '', /bogus\.wasm/)
  })

  it('resolves an EntryModule directory holding exactly one .wasm file', async () => {
    const dir = scratch('onewasm')
    fs.copyFileSync(fixture('hello'), path.join(dir, 'main.wasm'))
    fs.writeFileSync(path.join(dir, 'README.txt'), 'not a module')
    const { result, stdout } = await runWasm(ex, {
      inputs: [{ hostPath: dir, target: '/app', readOnly: true }],
      params: { EntryModule: '/app' },
    })
    assert.equal(result.exitCode, 0, result.error)
    assert.equal(stdout, 'Hello, World!\n')

    fs.copyFileSync(fixture('args'), path.join(dir, 'second.wasm'))
    const two = await runWasm(ex, {
      inputs: [{ hostPath: dir, target: '/app', readOnly: true }],
      params: { EntryModule: '/app' },
    })
    assert.equal(two.result.exitCode, -1)
    assert.match(two.result.error ?? '', /exactly one/)
  })
})

describe('WasmExecutor import modules', () => {
  const lib: PreparedInput = { hostPath: fixture('mathlib'), target: '/lib/mathlib.wasm', readOnly: true }

  it('instantiates ImportModules first and links them by path', async () => {
    const { result, stdout } = await runWasm(ex, {
      module: 'usemath',
      inputs: [lib],
      params: { ImportModules: ['/lib/mathlib.wasm'], Parameters: ['40', '2'] },
    })
    assert.equal(result.exitCode, 0, result.error)
    assert.equal(stdout, '40 + 2 = 42\n')
  })

  it('loads an import namespace from the task filesystem when not listed', async () => {
    const { result, stdout } = await runWasm(ex, {
      module: 'usemath',
      inputs: [lib],
      params: { Parameters: ['1', '2'] },
    })
    assert.equal(result.exitCode, 0, result.error)
    assert.equal(stdout, '1 + 2 = 3\n')
  })

  it('names an import module that cannot be found', async () => {
    const { result } = await runWasm(ex, { module: 'usemath' })
    assert.equal(result.exitCode, -1)
    assert.match(result.error ?? '', /'\/lib\/mathlib\.wasm'/)
  })
})

describe('WasmExecutor filesystem', () => {
  it('reads a file input mounted at its target, and copies it into an output', async () => {
    const src = path.join(scratch('fileinput'), 'data.txt')
    fs.writeFileSync(src, 'line one\nline two\n')
    const out = scratch('fileinput-out')
    const { result, stdout } = await runWasm(ex, {
      module: 'cat',
      inputs: [{ hostPath: src, target: '/inputs/data.txt', readOnly: true }],
      outputs: [{ name: 'outputs', path: '/outputs', hostPath: out }],
      params: { Parameters: ['/inputs/data.txt', '/outputs/copy.txt'] },
    })
    assert.equal(result.exitCode, 0, result.error)
    assert.equal(stdout, 'line one\nline two\n')
    assert.equal(fs.readFileSync(path.join(out, 'copy.txt'), 'utf8'), 'line one\nline two\n')
  })

  it('reads and lists a directory input', async () => {
    const dir = scratch('dirinput')
    fs.mkdirSync(path.join(dir, 'sub'))
    fs.writeFileSync(path.join(dir, 'a.txt'), 'A')
    fs.writeFileSync(path.join(dir, 'sub', 'b.txt'), 'nested B')
    const input: PreparedInput = { hostPath: dir, target: '/inputs', readOnly: true }
    const cat = await runWasm(ex, {
      module: 'cat',
      inputs: [input],
      params: { Parameters: ['/inputs/sub/b.txt'] },
    })
    assert.equal(cat.result.exitCode, 0, cat.stderr)
    assert.equal(cat.stdout, 'nested B')
    const ls = await runWasm(ex, { module: 'listdir', inputs: [input], params: { Parameters: ['/inputs'] } })
    assert.deepEqual(lines(ls.stdout), ['a.txt', 'sub/'])
    const root = await runWasm(ex, { module: 'listdir', inputs: [input], params: { Parameters: ['/'] } })
    assert.deepEqual(lines(root.stdout), ['app/', 'inputs/'])
  })

  it('refuses writes to a read-only input and leaves it untouched', async () => {
    const dir = scratch('readonly')
    fs.writeFileSync(path.join(dir, 'keep.txt'), 'keep')
    const { result, stderr } = await runWasm(ex, {
      module: 'writeout',
      inputs: [{ hostPath: dir, target: '/inputs', readOnly: true }],
      params: { Parameters: ['/inputs'] },
    })
    assert.equal(result.exitCode, 1)
    assert.equal(result.error, undefined)
    assert.match(stderr, /create \/inputs\/hello\.txt: Read-only file system/)
    assert.deepEqual(fs.readdirSync(dir), ['keep.txt'])

    // Overwriting an existing file is refused too.
    const cp = await runWasm(ex, {
      module: 'cat',
      inputs: [{ hostPath: dir, target: '/inputs', readOnly: true }],
      params: { Parameters: ['/inputs/keep.txt', '/inputs/keep.txt'] },
    })
    assert.equal(cp.result.exitCode, 1)
    assert.match(cp.stderr, /Read-only file system/)
    assert.equal(fs.readFileSync(path.join(dir, 'keep.txt'), 'utf8'), 'keep')
  })

  it('allows writes to an input mounted read-write', async () => {
    const dir = scratch('readwrite')
    const { result } = await runWasm(ex, {
      module: 'writeout',
      inputs: [{ hostPath: dir, target: '/rw', readOnly: false }],
      params: { Parameters: ['/rw'] },
    })
    assert.equal(result.exitCode, 0)
    assert.equal(fs.readFileSync(path.join(dir, 'hello.txt'), 'utf8'), 'hello from wasm\n')
  })

  it('refuses `..` escapes and paths outside the mounts', async () => {
    const dir = scratch('escape')
    fs.writeFileSync(path.join(dir, 'a.txt'), 'A')
    fs.writeFileSync(path.join(tmp, 'secret.txt'), 'secret')
    const input: PreparedInput = { hostPath: dir, target: '/inputs', readOnly: true }
    for (const p of [
      '/inputs/../../etc/passwd',
      '/inputs/../escape/../secret.txt',
      '/inputs/sub/../../../secret.txt',
    ]) {
      const r = await runWasm(ex, { module: 'cat', inputs: [input], params: { Parameters: [p] } })
      assert.equal(r.result.exitCode, 1, p)
      assert.equal(r.stdout, '', p)
      assert.match(r.stderr, /Capabilities insufficient/, p)
    }
    const abs = await runWasm(ex, { module: 'cat', inputs: [input], params: { Parameters: ['/etc/passwd'] } })
    assert.equal(abs.result.exitCode, 1)
    assert.match(abs.stderr, /No such file or directory/)
  })

  it('refuses symlinks that lead out of a mount but follows those inside it', async () => {
    const dir = scratch('symlinks')
    fs.writeFileSync(path.join(tmp, 'outside.txt'), 'outside')
    fs.writeFileSync(path.join(dir, 'inside.txt'), 'inside')
    fs.symlinkSync(path.join(tmp, 'outside.txt'), path.join(dir, 'out-abs'))
    fs.symlinkSync('../outside.txt', path.join(dir, 'out-rel'))
    fs.symlinkSync('/etc', path.join(dir, 'etc'))
    fs.symlinkSync('inside.txt', path.join(dir, 'in-rel'))
    const input: PreparedInput = { hostPath: dir, target: '/inputs', readOnly: true }
    for (const p of ['/inputs/out-abs', '/inputs/out-rel', '/inputs/etc/passwd']) {
      const r = await runWasm(ex, { module: 'cat', inputs: [input], params: { Parameters: [p] } })
      assert.equal(r.result.exitCode, 1, p)
      assert.match(r.stderr, /Capabilities insufficient/, p)
    }
    const ok = await runWasm(ex, {
      module: 'cat',
      inputs: [input],
      params: { Parameters: ['/inputs/in-rel'] },
    })
    assert.equal(ok.stdout, 'inside')

    // Creating through a dangling symlink in a writable output must not write outside.
    const out = scratch('symlink-out')
    fs.symlinkSync(path.join(tmp, 'created-outside.txt'), path.join(out, 'trap.txt'))
    const w = await runWasm(ex, {
      module: 'cat',
      inputs: [input],
      outputs: [{ name: 'outputs', path: '/outputs', hostPath: out }],
      params: { Parameters: ['/inputs/inside.txt', '/outputs/trap.txt'] },
    })
    assert.equal(w.result.exitCode, 1)
    assert.equal(fs.existsSync(path.join(tmp, 'created-outside.txt')), false)
  })

  it('writes outputs (files, nested directories, rename, unlink) to the host', async () => {
    const out = scratch('outputs')
    const { result, stdout, stderr } = await runWasm(ex, {
      module: 'writeout',
      outputs: [{ name: 'outputs', path: '/outputs', hostPath: out }],
      params: { Parameters: ['/outputs'] },
    })
    assert.equal(result.exitCode, 0, stderr)
    assert.equal(stdout, 'wrote /outputs\n')
    assert.equal(fs.readFileSync(path.join(out, 'hello.txt'), 'utf8'), 'hello from wasm\n')
    assert.equal(fs.readFileSync(path.join(out, 'sub', 'nested', 'data.txt'), 'utf8'), 'nested data\n')
    assert.equal(fs.existsSync(path.join(out, 'sub', 'nested', 'tmp.txt')), false)
    assert.equal(fs.existsSync(path.join(out, 'scratch.txt')), false)
  })

  it('supports the file calls wasi-libc programs make (fsops.wasm)', async () => {
    const out = scratch('fsops')
    const ro = scratch('fsops-ro')
    const { result, stdout, stderr } = await runWasm(ex, {
      module: 'fsops',
      inputs: [{ hostPath: ro, target: '/ro', readOnly: true }],
      outputs: [{ name: 'outputs', path: '/outputs', hostPath: out }],
      params: { Parameters: ['/outputs', '/ro'] },
    })
    assert.equal(result.exitCode, 0, stderr)
    assert.deepEqual(lines(stdout), [
      'create-excl: ok',
      'create-excl-again: EEXIST',
      'write: 11',
      'pwrite: 5',
      'tell-after-pwrite: 11',
      'seek-end: 11',
      'read-on-wronly: EBADF',
      'pread: world',
      'read: HELLO world',
      'fstat: size=11 reg=1',
      'mtime-plausible: 1',
      'append-size: 12',
      'trunc-size: 0',
      'open-file-as-dir: ENOTDIR',
      'dir-is-dir: 1',
      'mkdir: ok',
      'mkdir-again: EEXIST',
      'rmdir-nonempty: ENOTEMPTY',
      'unlink-dir: EISDIR',
      'unlink-inner: ok',
      'rmdir: ok',
      'rmdir-missing: ENOENT',
      'rmdir-file: ENOTDIR',
      'rename: ok',
      'stat-old: ENOENT',
      'stat-new: ok',
      'readdir: entries=1 g=1',
      'rename-into-ro: EROFS',
      'create-in-ro: EROFS',
      'mkdir-in-root: EROFS',
    ])
    assert.deepEqual(fs.readdirSync(out), ['g'])
    assert.deepEqual(fs.readdirSync(ro), [])
  })

  it('also mounts an output at /<Name> when its Path differs', async () => {
    const out = scratch('outputs-by-name')
    const { result } = await runWasm(ex, {
      module: 'writeout',
      outputs: [{ name: 'results', path: '/outputs', hostPath: out }],
      params: { Parameters: ['/results'] },
    })
    assert.equal(result.exitCode, 0)
    assert.equal(fs.readFileSync(path.join(out, 'hello.txt'), 'utf8'), 'hello from wasm\n')
  })

  it('rejects two mounts at the same path', async () => {
    const { result } = await runWasm(ex, {
      module: 'hello',
      inputs: [{ hostPath: tmp, target: '/data', readOnly: true }],
      outputs: [{ name: 'out', path: '/data', hostPath: scratch('clash') }],
    })
    assert.equal(result.exitCode, -1)
    assert.match(result.error ?? '', /'\/data' is already used/)
  })

  it('streams a large stdout completely and in order', async () => {
    const src = path.join(scratch('bigout'), 'big.bin')
    const data = Buffer.alloc(24 << 20)
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i)
    fs.writeFileSync(src, data)
    const hash = createHash('sha256')
    let bytes = 0
    const res = await ex.run(
      {
        executionId: 'e',
        jobId: 'j',
        engine: { Type: 'wasm', Params: { EntryModule: '/app/cat.wasm', Parameters: ['/in/big.bin'] } },
        env: {},
        inputs: [
          { hostPath: fixture('cat'), target: '/app/cat.wasm', readOnly: true },
          { hostPath: src, target: '/in/big.bin', readOnly: true },
        ],
        outputs: [],
        output: {
          stdout: (c) => {
            bytes += c.length
            hash.update(c)
          },
          stderr: () => undefined,
        },
        network: 'None',
      },
      new AbortController().signal,
    )
    assert.deepEqual(res, { exitCode: 0 })
    assert.equal(bytes, data.length)
    assert.equal(hash.digest('hex'), createHash('sha256').update(data).digest('hex'))
  })
})

describe('WasmExecutor lifecycle', () => {
  it('delivers stdout live, while the module is still running', async () => {
    const { result, chunks, resolvedAt, stdout } = await runWasm(ex, {
      module: 'ticker',
      params: { Parameters: ['4', '150'] },
    })
    assert.equal(result.exitCode, 0)
    assert.deepEqual(lines(stdout), ['tick 0', 'tick 1', 'tick 2', 'tick 3'])
    const out = chunks.filter((c) => c.stream === 'stdout')
    assert.ok(out.length >= 3, `expected separate chunks, got ${out.length}`)
    // The first tick arrives about 3 sleeps (450 ms) before the module ends.
    assert.ok(out[0]!.at < resolvedAt - 250, `first chunk at ${out[0]!.at} ms, run ended at ${resolvedAt} ms`)
  })

  it('terminates a spinning module at its timeout', async () => {
    const { result, stdout, ms } = await runWasm(ex, { module: 'spin', timeoutMs: 400 })
    assert.deepEqual(result, { exitCode: -1, error: 'execution timed out after 400ms', timedOut: true })
    assert.ok(ms >= 390 && ms < 2500, `took ${ms} ms`)
    assert.equal(stdout, 'spinning\n')
  })

  it('releases host files held by a module that was killed', async () => {
    const held = path.join(scratch('held'), 'held.txt')
    fs.writeFileSync(held, 'x')
    const { result } = await runWasm(ex, {
      module: 'spin',
      inputs: [{ hostPath: held, target: '/in/held.txt', readOnly: true }],
      params: { Parameters: ['/in/held.txt'] },
      timeoutMs: 300,
    })
    assert.equal(result.timedOut, true)
    const leaked = fs
      .readdirSync('/proc/self/fd')
      .map((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`)
        } catch {
          return ''
        }
      })
      .filter((p) => p === held)
    assert.deepEqual(leaked, [])
  })

  it('stops when the abort signal fires', async () => {
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 300)
    const { result, ms } = await runWasm(ex, { module: 'spin', signal: ac.signal })
    assert.deepEqual(result, { exitCode: -1, error: 'execution cancelled' })
    assert.ok(ms >= 290 && ms < 2500, `took ${ms} ms`)
  })

  it('does not start when the signal is already aborted', async () => {
    const ac = new AbortController()
    ac.abort()
    const { result, stdout } = await runWasm(ex, { module: 'hello', signal: ac.signal })
    assert.deepEqual(result, { exitCode: -1, error: 'execution cancelled' })
    assert.equal(stdout, '')
  })
})

describe('WasmExecutor memory limit', () => {
  const MiB = 1 << 20

  it('lets a module allocate below the cap', async () => {
    const { result, stdout } = await runWasm(ex, {
      module: 'memhog',
      params: { Parameters: ['24'] },
      memoryBytes: 64 * MiB,
    })
    assert.equal(result.exitCode, 0)
    assert.match(stdout, /^allocated 24 MiB/)
  })

  it('makes malloc fail beyond the cap instead of growing', async () => {
    const { result, stdout } = await runWasm(ex, {
      module: 'memhog',
      params: { Parameters: ['128'] },
      memoryBytes: 64 * MiB,
    })
    assert.deepEqual(result, { exitCode: 2 })
    const m = /^malloc failed after (\d+) MiB/.exec(stdout)
    assert.ok(m, stdout)
    assert.ok(Number(m[1]) < 64 && Number(m[1]) > 48, stdout)
  })

  it('allocates the same amount when there is no cap', async () => {
    const { result, stdout } = await runWasm(ex, { module: 'memhog', params: { Parameters: ['128'] } })
    assert.equal(result.exitCode, 0)
    assert.match(stdout, /^allocated 128 MiB/)
  })

  it('fails a module whose initial memory is already above the cap', async () => {
    const { result } = await runWasm(ex, { module: 'hello', memoryBytes: 64 * 1024 })
    assert.equal(result.exitCode, -1)
    assert.match(result.error ?? '', /needs 128 KiB of initial memory, more than the memory limit of 64 KiB/)
  })
})
