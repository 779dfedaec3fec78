// DockerExecutor against the real Docker Engine (scripts/docker-engine.sh starts it and
// builds busybox:1.37.0 plus a local registry on 127.0.0.1:5000). Without an engine the
// suite is skipped, except in CI where that is a failure.
import { after, afterEach, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import Docker from 'dockerode'
import { pino } from 'pino'
import {
  DockerExecutor,
  HTTP_NETWORK_UNSUPPORTED,
  KEPT_CAPABILITIES,
  LABEL_EXECUTION,
  LABEL_EXECUTOR,
} from '../../src/executors/docker/index.js'
import type { PreparedInput, PreparedOutput, RunRequest, RunResult } from '../../src/executors/types.js'

const IMAGE = 'busybox:1.37.0'
const REGISTRY_IMAGE = '127.0.0.1:5000/bacalhau-test/busybox:1.37.0'
const ENTRY_IMAGE = `bacalhau-test/entrypoint:${process.pid}`
const NODE_ID = `dtest-${process.pid}`

const docker = new Docker()
const logLines: string[] = []
const testLogger = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(chunk.toString())
      cb()
    },
  }),
)

const probe = new DockerExecutor({ nodeId: NODE_ID, logger: testLogger })
const reachable = await probe.isInstalled()
const skip = reachable ? false : 'Docker engine unreachable (run scripts/docker-engine.sh)'
if (!reachable && process.env.CI === 'true') {
  it('Docker engine is reachable in CI', () => assert.fail('Docker engine unreachable; CI must provide one'))
}

interface Outcome {
  result: RunResult
  stdout: string
  stderr: string
  chunks: Array<{ stream: 'stdout' | 'stderr'; at: number; text: string }>
  ms: number
  resolvedAt: number
}

let seq = 0
interface RunOpts extends Partial<Omit<RunRequest, 'engine' | 'output'>> {
  params?: Record<string, unknown>
  /** Shorthand: Entrypoint sh -c <script>. */
  sh?: string
  signal?: AbortSignal
  executor?: DockerExecutor
}

function runJob(opts: RunOpts): { executionId: string; done: Promise<Outcome> } {
  const executionId = opts.executionId ?? `e-${process.pid}-${++seq}`
  const params: Record<string, unknown> = opts.sh
    ? { Image: IMAGE, Entrypoint: ['sh', '-c'], Parameters: [opts.sh], ...opts.params }
    : { Image: IMAGE, ...opts.params }
  const chunks: Outcome['chunks'] = []
  const out = { stdout: [] as Buffer[], stderr: [] as Buffer[] }
  const record = (stream: 'stdout' | 'stderr') => (c: Uint8Array) => {
    out[stream].push(Buffer.from(c))
    chunks.push({ stream, at: performance.now(), text: Buffer.from(c).toString() })
  }
  const req: RunRequest = {
    executionId,
    jobId: opts.jobId ?? 'j-docker-test',
    engine: { Type: 'docker', Params: params },
    env: opts.env ?? {},
    inputs: opts.inputs ?? [],
    outputs: opts.outputs ?? [],
    output: { stdout: record('stdout'), stderr: record('stderr') },
    timeoutMs: opts.timeoutMs,
    memoryBytes: opts.memoryBytes,
    cpu: opts.cpu,
    network: opts.network ?? 'None',
  }
  const t0 = performance.now()
  const done = (opts.executor ?? executor)
    .run(req, opts.signal ?? new AbortController().signal)
    .then((result) => {
      const resolvedAt = performance.now()
      return {
        result,
        stdout: Buffer.concat(out.stdout).toString(),
        stderr: Buffer.concat(out.stderr).toString(),
        chunks,
        ms: resolvedAt - t0,
        resolvedAt,
      }
    })
  return { executionId, done }
}

const run = (opts: RunOpts): Promise<Outcome> => runJob(opts).done

async function ours(label = `${LABEL_EXECUTOR}=bacalhau-${NODE_ID}`): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [label] } })
}

async function waitForContainer(executionId: string): Promise<Docker.ContainerInfo> {
  const label = `${LABEL_EXECUTION}=bacalhau-${NODE_ID}${executionId}`
  for (let i = 0; i < 100; i++) {
    const [c] = await ours(label)
    if (c?.State === 'running') return c
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`no running container for ${executionId}`)
}

let executor: DockerExecutor
let tmp: string

describe('DockerExecutor (real engine)', { skip }, () => {
  before(async () => {
    await docker
      .getImage(IMAGE)
      .inspect()
      .catch(() => {
        throw new Error(`${IMAGE} is missing: run scripts/docker-engine.sh`)
      })
    // An image with both ENTRYPOINT and CMD, to see which one a task overrides.
    const c = await docker.createContainer({ Image: IMAGE, Cmd: ['true'] })
    await c.commit({
      repo: ENTRY_IMAGE.split(':')[0],
      tag: ENTRY_IMAGE.split(':')[1],
      changes: ['ENTRYPOINT ["echo","image-ep"]', 'CMD ["image-cmd"]'],
    })
    await c.remove({ force: true })
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'docker-exec-test-'))
    executor = new DockerExecutor({ nodeId: NODE_ID, logger: testLogger, pullTimeoutMs: 60_000 })
    await executor.start()
  })

  afterEach(async () => {
    assert.deepEqual(
      (await ours()).map((c) => c.Names),
      [],
      'no container of this executor may outlive its run',
    )
  })

  after(async () => {
    await executor?.close()
    await docker
      .getImage(ENTRY_IMAGE)
      .remove({ force: true })
      .catch(() => undefined)
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
  })

  it('runs echo hello', async () => {
    const o = await run({ params: { Parameters: ['echo', 'hello'] } })
    assert.deepEqual(o.result, { exitCode: 0 })
    assert.equal(o.stdout, 'hello\n')
    assert.equal(o.stderr, '')
  })

  it('separates stdout from stderr and keeps large output intact', async () => {
    const o = await run({ sh: "echo out; echo err >&2; head -c 3000000 /dev/zero | tr '\\0' x" })
    assert.equal(o.result.exitCode, 0)
    assert.equal(o.stderr, 'err\n')
    assert.equal(o.stdout.length, 4 + 3_000_000)
    assert.ok(o.stdout.startsWith('out\nxxx'))
    assert.equal(o.stdout.replace('out\n', '').replace(/x/g, ''), '')
  })

  it('reports a non-zero exit code without an error', async () => {
    const o = await run({ sh: 'echo before; exit 3' })
    assert.deepEqual(o.result, { exitCode: 3 })
    assert.equal(o.stdout, 'before\n')
  })

  it('applies the entrypoint rule both ways', async () => {
    const image = { Image: ENTRY_IMAGE }
    assert.equal((await run({ params: image })).stdout, 'image-ep image-cmd\n')
    // Parameters replace CMD; the image ENTRYPOINT stays.
    assert.equal((await run({ params: { ...image, Parameters: ['p1', 'p2'] } })).stdout, 'image-ep p1 p2\n')
    // Entrypoint replaces the image's; Parameters become Cmd.
    const o = await run({ params: { ...image, Entrypoint: ['sh', '-c'], Parameters: ['echo overridden'] } })
    assert.equal(o.stdout, 'overridden\n')
    // An overridden entrypoint does not get the image CMD.
    assert.equal((await run({ params: { ...image, Entrypoint: ['echo', 'alone'] } })).stdout, 'alone\n')
  })

  it('lets engine EnvironmentVariables win over the request env', async () => {
    const o = await run({
      sh: 'echo "$FOO|$BAR|$EQ|$BACALHAU_JOB_ID"',
      env: { FOO: 'task', BAR: 'task', BACALHAU_JOB_ID: 'j-env' },
      params: { EnvironmentVariables: ['FOO=engine', 'EQ=a=b'] },
    })
    assert.equal(o.stdout, 'engine|task|a=b|j-env\n')
  })

  it('uses WorkingDirectory, creating it when missing', async () => {
    assert.equal((await run({ sh: 'pwd', params: { WorkingDirectory: '/tmp' } })).stdout, '/tmp\n')
    assert.equal(
      (await run({ sh: 'pwd', params: { WorkingDirectory: '/work/here' } })).stdout,
      '/work/here\n',
    )
    assert.equal((await run({ sh: 'pwd' })).stdout, '/\n')
  })

  it('mounts inputs read-only: readable, not writable', async () => {
    const dir = path.join(tmp, 'in-ro')
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(dir, 'data.txt'), 'original\n')
    const file = path.join(tmp, 'single.txt')
    fs.writeFileSync(file, 'single\n')
    const inputs: PreparedInput[] = [
      { hostPath: dir, target: '/inputs/data', readOnly: true },
      { hostPath: file, target: '/inputs/single.txt', readOnly: true },
    ]
    const o = await run({
      inputs,
      sh: [
        'cat /inputs/data/data.txt /inputs/single.txt',
        '(echo changed > /inputs/data/data.txt) 2>/dev/null && echo WROTE || echo DENIED',
        '(touch /inputs/data/new) 2>/dev/null && echo CREATED || echo NOCREATE',
        '(echo x >> /inputs/single.txt) 2>/dev/null && echo APPENDED || echo NOAPPEND',
      ].join('; '),
    })
    assert.equal(o.result.exitCode, 0)
    assert.equal(o.stdout, 'original\nsingle\nDENIED\nNOCREATE\nNOAPPEND\n')
    assert.equal(fs.readFileSync(path.join(dir, 'data.txt'), 'utf8'), 'original\n')
    assert.equal(fs.readFileSync(file, 'utf8'), 'single\n')
    assert.deepEqual(fs.readdirSync(dir), ['data.txt'])
  })

  it('mounts a readOnly=false input writable', async () => {
    const dir = path.join(tmp, 'in-rw')
    fs.mkdirSync(dir)
    const o = await run({
      inputs: [{ hostPath: dir, target: '/scratch', readOnly: false }],
      sh: 'echo written > /scratch/f',
    })
    assert.equal(o.result.exitCode, 0)
    assert.equal(fs.readFileSync(path.join(dir, 'f'), 'utf8'), 'written\n')
  })

  it('writes outputs to the host folder, including subfolders', async () => {
    const outputs: PreparedOutput[] = [
      { name: 'outputs', path: '/outputs', hostPath: path.join(tmp, 'results', 'outputs') },
      { name: 'more', path: '/data/more', hostPath: path.join(tmp, 'results', 'more') },
    ]
    for (const o of outputs) fs.mkdirSync(o.hostPath, { recursive: true, mode: 0o755 })
    const o = await run({
      outputs,
      sh: 'mkdir -p /outputs/a/b && echo deep > /outputs/a/b/c.txt && echo top > /outputs/top.txt && echo m > /data/more/m.txt',
    })
    assert.equal(o.result.exitCode, 0, o.stderr)
    assert.equal(fs.readFileSync(path.join(outputs[0].hostPath, 'a', 'b', 'c.txt'), 'utf8'), 'deep\n')
    assert.equal(fs.readFileSync(path.join(outputs[0].hostPath, 'top.txt'), 'utf8'), 'top\n')
    assert.equal(fs.readFileSync(path.join(outputs[1].hostPath, 'm.txt'), 'utf8'), 'm\n')
  })

  it('fails with "memory limit exceeded" when the task is OOM-killed', async () => {
    // busybox tail keeps the whole current line in memory, and /dev/zero has no newline.
    const o = await run({ sh: 'head -c 200m /dev/zero | tail', memoryBytes: 32 * 1024 * 1024 })
    assert.match(o.result.error ?? '', /^memory limit exceeded/)
    assert.equal(o.result.exitCode, 137)
  })

  it('stays within a memory limit that suffices', async () => {
    const o = await run({ sh: 'head -c 5m /dev/zero | tail | wc -c', memoryBytes: 64 * 1024 * 1024 })
    assert.deepEqual(o.result, { exitCode: 0 })
    assert.equal(o.stdout.trim(), String(5 * 1024 * 1024))
  })

  it('kills a task at its timeout', async () => {
    const o = await run({ sh: 'sleep 30', timeoutMs: 1000 })
    assert.deepEqual(o.result, { exitCode: -1, error: 'execution timed out after 1s', timedOut: true })
    assert.ok(o.ms < 4000, `took ${Math.round(o.ms)} ms`)
  })

  it('is hardened as inspect shows, then kills the task on abort', async () => {
    const ac = new AbortController()
    const job = runJob({ sh: 'sleep 30', signal: ac.signal, memoryBytes: 64 * 1024 * 1024, cpu: 0.5 })
    const c = await waitForContainer(job.executionId)
    const info = await docker.getContainer(c.Id).inspect()
    const h = info.HostConfig
    assert.deepEqual(h.CapDrop, ['ALL'])
    assert.deepEqual([...(h.CapAdd as string[])].sort(), [...KEPT_CAPABILITIES].sort())
    assert.deepEqual(h.SecurityOpt, ['no-new-privileges'])
    assert.equal(h.Privileged, false)
    assert.equal(h.ReadonlyRootfs, false)
    assert.ok((h.PidsLimit ?? 0) > 0)
    assert.equal(h.Memory, 64 * 1024 * 1024)
    assert.equal(h.MemorySwap, 64 * 1024 * 1024)
    assert.equal(h.NanoCpus, 500_000_000)
    assert.equal(h.NetworkMode, 'none')
    assert.equal(info.Config.Tty, false)
    assert.equal(info.Name, `/bacalhau-bacalhau-${NODE_ID}-j-docker-test-${job.executionId}-executor`)
    assert.deepEqual(
      {
        executor: info.Config.Labels['bacalhau-executor'],
        job: info.Config.Labels['bacalhau-jobID'],
        execution: info.Config.Labels['bacalhau-executionID'],
      },
      {
        executor: `bacalhau-${NODE_ID}`,
        job: `bacalhau-${NODE_ID}j-docker-test`,
        execution: `bacalhau-${NODE_ID}${job.executionId}`,
      },
    )
    const t = performance.now()
    ac.abort()
    const o = await job.done
    assert.deepEqual(o.result, { exitCode: -1, error: 'execution cancelled' })
    assert.ok(o.resolvedAt - t < 3000, `abort took ${Math.round(o.resolvedAt - t)} ms`)
  })

  it('streams output live, before the container exits', async () => {
    const o = await run({ sh: 'echo a; sleep 1; echo b' })
    assert.equal(o.stdout, 'a\nb\n')
    const first = o.chunks.find((c) => c.text.includes('a'))!
    assert.ok(
      o.resolvedAt - first.at > 700,
      `first chunk came ${Math.round(o.resolvedAt - first.at)} ms before the end`,
    )
  })

  it('runs executions concurrently', async () => {
    const outs = await Promise.all([1, 2, 3].map((i) => run({ sh: `sleep 0.3; echo ${i}` })))
    assert.deepEqual(
      outs.map((o) => o.stdout),
      ['1\n', '2\n', '3\n'],
    )
  })

  it('reports a start failure with the engine message', async () => {
    const o = await run({ params: { Entrypoint: ['no-such-program'] } })
    assert.equal(o.result.exitCode, -1)
    assert.match(o.result.error!, /^failed to start container: .*no-such-program.*executable file not found/)
  })

  it('fails clearly for an image that cannot be pulled', async () => {
    const o = await run({ params: { Image: '127.0.0.1:5000/bacalhau-test/no-such-image:1' } })
    assert.equal(o.result.exitCode, -1)
    assert.match(
      o.result.error!,
      /^failed to pull image 127\.0\.0\.1:5000\/bacalhau-test\/no-such-image:1: .*not found/,
    )
    const skipping = new DockerExecutor({ nodeId: NODE_ID, logger: testLogger, skipPull: true })
    const s = await run({ executor: skipping, params: { Image: 'no-such-local-image' } })
    assert.match(s.result.error!, /no-such-local-image:latest is not available locally.*SKIP_IMAGE_PULL/)
    await skipping.close()
  })

  it('pulls a missing image from a registry', async () => {
    await docker
      .getImage(REGISTRY_IMAGE)
      .remove()
      .catch(() => undefined)
    await assert.rejects(docker.getImage(REGISTRY_IMAGE).inspect())
    logLines.length = 0
    const o = await run({ params: { Image: REGISTRY_IMAGE, Parameters: ['echo', 'pulled'] } })
    assert.deepEqual(o.result, { exitCode: 0 })
    assert.equal(o.stdout, 'pulled\n')
    assert.ok(
      logLines.some((l) => l.includes('pulled image')),
      'the image was pulled',
    )
    await docker.getImage(REGISTRY_IMAGE).remove()
  })

  it('gives network None only a loopback interface', async () => {
    const o = await run({ sh: "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '" })
    assert.equal(o.stdout, 'lo\n')
  })

  it('refuses the HTTP network type without creating anything', async () => {
    const o = await run({ sh: 'true', network: 'HTTP' })
    assert.deepEqual(o.result, { exitCode: -1, error: HTTP_NETWORK_UNSUPPORTED })
  })

  it('adds host.docker.internal on bridge networks', async () => {
    const o = await run({
      sh: 'grep -c host.docker.internal /etc/hosts; ls /sys/class/net | grep -c eth0',
      network: 'Bridge',
    })
    assert.equal(o.stdout, '1\n1\n')
  })

  it('removes orphaned containers and networks on start()', async () => {
    const label = `bacalhau-${NODE_ID}`
    const mk = (executorLabel: string) =>
      docker
        .createContainer({ Image: IMAGE, Cmd: ['sleep', '300'], Labels: { [LABEL_EXECUTOR]: executorLabel } })
        .then(async (c) => (await c.start(), c))
    const orphan = await mk(label)
    const foreign = await mk(`bacalhau-someone-else-${process.pid}`)
    const net = await docker.createNetwork({
      Name: `bacalhau-test-net-${process.pid}`,
      Labels: { [LABEL_EXECUTOR]: label },
    })
    try {
      const fresh = new DockerExecutor({ nodeId: NODE_ID, logger: testLogger })
      await fresh.start()
      await assert.rejects(orphan.inspect(), /no such container/i)
      await assert.rejects(net.inspect(), /not found|no such network/i)
      assert.equal((await foreign.inspect()).State.Running, true)
    } finally {
      await foreign.remove({ force: true })
      await orphan.remove({ force: true }).catch(() => undefined)
      await net.remove().catch(() => undefined)
    }
  })

  it('close() cancels running executions and removes their containers', async () => {
    const closing = new DockerExecutor({ nodeId: NODE_ID, logger: testLogger })
    const job = runJob({ executor: closing, sh: 'sleep 30' })
    await waitForContainer(job.executionId)
    await closing.close()
    const o = await job.done
    assert.deepEqual(o.result, { exitCode: -1, error: 'execution cancelled' })
    const after = await run({ executor: closing, params: { Parameters: ['true'] } })
    assert.equal(after.result.exitCode, -1)
  })

  it('replaces a leftover container of the same execution', async () => {
    const executionId = `e-${process.pid}-leftover`
    const name = `bacalhau-bacalhau-${NODE_ID}-j-docker-test-${executionId}-executor`
    await docker.createContainer({ name, Image: IMAGE, Cmd: ['true'] })
    const o = await run({ executionId, params: { Parameters: ['echo', 'fresh'] } })
    assert.equal(o.stdout, 'fresh\n')
    await assert.rejects(docker.getContainer(name).inspect())
  })
})
