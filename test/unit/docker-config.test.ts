// Docker executor pure logic: engine params, the container-create body, stream demuxing,
// image references and engine error texts. No engine needed.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { GpuInfo } from '../../src/compute/gpu/types.js'
import type { RunRequest } from '../../src/executors/types.js'
import {
  HTTP_NETWORK_UNSUPPORTED,
  KEPT_CAPABILITIES,
  MIN_MEMORY_BYTES,
  buildCreateOptions,
  containerLabels,
  containerName,
  executorIdFor,
  gpuSettings,
  mergeEnv,
  networkSettings,
  sanitizeContainerName,
} from '../../src/executors/docker/config.js'
import { Demuxer, type StreamKind } from '../../src/executors/docker/demux.js'
import { engineMessage, startFailure } from '../../src/executors/docker/errors.js'
import { normalizeImageRef, platformMatches, progressError } from '../../src/executors/docker/image.js'
import { parseDockerParams } from '../../src/executors/docker/params.js'
import { DockerExecutor } from '../../src/executors/docker/index.js'
import { logger } from '../../src/util/logger.js'

const engine = (Params: Record<string, unknown>) => ({ Type: 'docker', Params })

function request(over: Partial<RunRequest> = {}): RunRequest {
  return {
    executionId: 'e-1',
    jobId: 'j-1',
    engine: engine({ Image: 'busybox' }),
    env: {},
    inputs: [],
    outputs: [],
    output: { stdout: () => undefined, stderr: () => undefined },
    network: 'None',
    ...over,
  }
}

function create(params: Record<string, unknown>, over: Partial<RunRequest> = {}) {
  const p = parseDockerParams(engine(params))
  return buildCreateOptions({ executorId: 'bacalhau-n1', image: p.image, params: p, request: request(over) })
}

describe('docker params', () => {
  it('requires an image', () => {
    assert.throws(() => parseDockerParams(engine({})), /^Error: Image cannot be empty$/)
    assert.throws(() => parseDockerParams(engine({ Image: '  ' })), /Image cannot be empty/)
    assert.throws(() => parseDockerParams({ Type: 'docker' }), /Image cannot be empty/)
    assert.throws(() => parseDockerParams(engine({ Image: 3 })), /Image must be a string/)
  })

  it('reads keys case-insensitively and defaults the lists', () => {
    const p = parseDockerParams(
      engine({ image: 'ubuntu', ENTRYPOINT: ['sh'], parameters: ['-c', 'x'], workingdirectory: '/w' }),
    )
    assert.deepEqual(p, {
      image: 'ubuntu',
      entrypoint: ['sh'],
      parameters: ['-c', 'x'],
      environmentVariables: [],
      workingDirectory: '/w',
    })
    const q = parseDockerParams(
      engine({ Image: 'x', Entrypoint: null, Parameters: null, EnvironmentVariables: null }),
    )
    assert.deepEqual([q.entrypoint, q.parameters, q.environmentVariables], [[], [], []])
  })

  it('rejects a relative working directory', () => {
    assert.throws(
      () => parseDockerParams(engine({ Image: 'x', WorkingDirectory: 'src' })),
      /must be an absolute path/,
    )
  })

  it('checks EnvironmentVariables entries', () => {
    assert.throws(
      () => parseDockerParams(engine({ Image: 'x', EnvironmentVariables: ['NOVALUE'] })),
      /KEY=VALUE/,
    )
    assert.throws(() => parseDockerParams(engine({ Image: 'x', EnvironmentVariables: ['=v'] })), /KEY=VALUE/)
    assert.throws(
      () => parseDockerParams(engine({ Image: 'x', EnvironmentVariables: ['BACALHAU_JOB_ID=1'] })),
      /reserved BACALHAU_ prefix/,
    )
    assert.throws(
      () => parseDockerParams(engine({ Image: 'x', EnvironmentVariables: 'A=1' })),
      /list of strings/,
    )
    assert.doesNotThrow(() =>
      parseDockerParams(engine({ Image: 'x', EnvironmentVariables: ['A=', 'B=x=y'] })),
    )
  })

  it('validate() returns the reason instead of throwing', () => {
    const ex = new DockerExecutor({ nodeId: 'n1', logger: logger(), socketPath: '/nonexistent.sock' })
    assert.equal(ex.validate(engine({})), 'Image cannot be empty')
    assert.equal(ex.validate(engine({ Image: 'busybox' })), undefined)
    assert.match(ex.validate(engine({ Image: 'b', WorkingDirectory: 'rel' }))!, /absolute/)
    assert.equal(ex.validateNetwork('HTTP'), HTTP_NETWORK_UNSUPPORTED)
    assert.equal(ex.validateNetwork('Bridge'), undefined)
  })

  it('isInstalled() is false, not a throw, without an engine', async () => {
    const ex = new DockerExecutor({ nodeId: 'n1', logger: logger(), socketPath: '/nonexistent.sock' })
    assert.equal(await ex.isInstalled(), false)
    const r = await ex.run(request({ engine: engine({ Image: 'busybox' }) }), new AbortController().signal)
    assert.equal(r.exitCode, -1)
    assert.ok(r.error)
  })
})

describe('docker container config', () => {
  it('names and labels the container like Bacalhau', () => {
    assert.equal(executorIdFor('n1'), 'bacalhau-n1')
    assert.equal(containerName('bacalhau-n1', 'j-1', 'e-1'), 'bacalhau-bacalhau-n1-j-1-e-1-executor')
    assert.equal(sanitizeContainerName('a b/c:d@e'), 'a-b-c-d-e')
    assert.equal(sanitizeContainerName('-x'), 'x-x')
    assert.deepEqual(containerLabels('bacalhau-n1', 'j-1', 'e-1'), {
      'bacalhau-executor': 'bacalhau-n1',
      'bacalhau-jobID': 'bacalhau-n1j-1',
      'bacalhau-executionID': 'bacalhau-n1e-1',
    })
  })

  it('applies the entrypoint rule', () => {
    const a = create({ Image: 'i', Entrypoint: ['python', '-c'], Parameters: ['print(1)'] })
    assert.deepEqual([a.Entrypoint, a.Cmd], [['python', '-c'], ['print(1)']])
    // An overridden entrypoint with no parameters sends an empty Cmd, so the image CMD is not used.
    const b = create({ Image: 'i', Entrypoint: ['echo'] })
    assert.deepEqual([b.Entrypoint, b.Cmd], [['echo'], []])
    const c = create({ Image: 'i', Parameters: ['x'] })
    assert.equal('Entrypoint' in c, false)
    assert.deepEqual(c.Cmd, ['x'])
    const d = create({ Image: 'i' })
    assert.equal('Entrypoint' in d || 'Cmd' in d, false)
  })

  it('merges env with engine variables winning', () => {
    assert.deepEqual(mergeEnv({ A: 'task', B: 'task' }, ['A=engine', 'C=x=y']).sort(), [
      'A=engine',
      'B=task',
      'C=x=y',
    ])
    const o = create(
      { Image: 'i', EnvironmentVariables: ['A=engine'] },
      { env: { A: 'task', BACALHAU_JOB_ID: 'j' } },
    )
    assert.deepEqual(o.Env!.sort(), ['A=engine', 'BACALHAU_JOB_ID=j'])
  })

  it('maps resources and hardening', () => {
    const o = create({ Image: 'i', WorkingDirectory: '/w' }, { cpu: 0.5, memoryBytes: 64 * 1024 * 1024 })
    const h = o.HostConfig!
    assert.equal(o.WorkingDir, '/w')
    assert.equal(h.NanoCpus, 500_000_000)
    assert.equal(h.Memory, 64 * 1024 * 1024)
    assert.equal(h.MemorySwap, 64 * 1024 * 1024)
    assert.equal(h.Privileged, false)
    assert.equal(h.ReadonlyRootfs, false)
    assert.deepEqual(h.CapDrop, ['ALL'])
    assert.deepEqual(h.CapAdd, [...KEPT_CAPABILITIES])
    assert.deepEqual(h.SecurityOpt, ['no-new-privileges'])
    assert.ok(h.PidsLimit! > 0)
    assert.equal(o.Tty, false)
    const none = create({ Image: 'i' })
    assert.equal(none.HostConfig!.Memory, undefined)
    assert.equal(none.HostConfig!.NanoCpus, undefined)
    assert.equal(create({ Image: 'i' }, { memoryBytes: 1000 }).HostConfig!.Memory, MIN_MEMORY_BYTES)
    assert.equal(create({ Image: 'i' }, { cpu: 0.001 }).HostConfig!.NanoCpus, 10_000_000)
    const p = parseDockerParams(engine({ Image: 'i' }))
    const big = buildCreateOptions({
      executorId: 'x',
      image: 'i',
      params: p,
      request: request({ cpu: 64 }),
      hostCpus: 2,
    })
    assert.equal(big.HostConfig!.NanoCpus, 2e9)
  })

  it('mounts inputs read-only as asked and outputs read-write', () => {
    const o = create(
      { Image: 'i' },
      {
        inputs: [
          { hostPath: '/h/a', target: '/inputs/a', readOnly: true },
          { hostPath: '/h/b:c', target: 'rel', readOnly: false },
        ],
        outputs: [{ name: 'outputs', path: '/outputs', hostPath: '/h/results/outputs' }],
      },
    )
    assert.deepEqual(o.HostConfig!.Mounts, [
      { Type: 'bind', Source: '/h/a', Target: '/inputs/a', ReadOnly: true },
      { Type: 'bind', Source: '/h/b:c', Target: '/rel', ReadOnly: false },
      { Type: 'bind', Source: '/h/results/outputs', Target: '/outputs', ReadOnly: false },
    ])
  })

  it('maps network types', () => {
    assert.deepEqual(networkSettings('None'), { NetworkMode: 'none', NetworkDisabled: true })
    const gw = ['host.docker.internal:host-gateway']
    assert.deepEqual(networkSettings('Host'), { NetworkMode: 'host', ExtraHosts: gw })
    assert.deepEqual(networkSettings('Full'), { NetworkMode: 'host', ExtraHosts: gw })
    assert.deepEqual(networkSettings('bridge'), { NetworkMode: 'bridge', ExtraHosts: gw })
    assert.throws(() => networkSettings('HTTP'), { message: HTTP_NETWORK_UNSUPPORTED })
    assert.throws(() => networkSettings('Carrier-Pigeon'), /unsupported network type/)
    const o = create({ Image: 'i' })
    assert.equal(o.NetworkDisabled, true)
    assert.equal(o.HostConfig!.NetworkMode, 'none')
    assert.throws(() => create({ Image: 'i' }, { network: 'HTTP' }), /egress gateway/)
  })

  it('maps GPUs per vendor', () => {
    const gpu = (Index: number, Vendor: GpuInfo['Vendor'], PCIAddress = ''): GpuInfo => ({
      Index,
      Name: 'g',
      Vendor,
      Memory: 0,
      PCIAddress,
    })
    const links: Record<string, string> = {
      '/dev/dri/by-path/pci-0000:03:00.0-card': '/dev/dri/card1',
      '/dev/dri/by-path/pci-0000:03:00.0-render': '/dev/dri/renderD128',
      '/dev/dri/by-path/pci-0000:04:00.0-card': '/dev/dri/card2',
      '/dev/dri/by-path/pci-0000:04:00.0-render': '/dev/dri/renderD129',
    }
    const resolve = (p: string): string => {
      if (!links[p]) throw new Error('ENOENT')
      return links[p]
    }
    assert.deepEqual(gpuSettings(undefined), {})
    assert.deepEqual(gpuSettings([gpu(0, 'NVIDIA'), gpu(2, 'NVIDIA')], resolve), {
      DeviceRequests: [{ Driver: 'nvidia', DeviceIDs: ['0', '2'], Capabilities: [['gpu']] }],
    })
    const dev = (p: string) => ({ PathOnHost: p, PathInContainer: p, CgroupPermissions: 'rwm' })
    assert.deepEqual(gpuSettings([gpu(0, 'AMD/ATI', '0000:03:00.0')], resolve), {
      Devices: [dev('/dev/kfd'), dev('/dev/dri/card1'), dev('/dev/dri/renderD128')],
    })
    assert.deepEqual(gpuSettings([gpu(0, 'Intel', '0000:04:00.0')], resolve), {
      Devices: [dev('/dev/dri/card2'), dev('/dev/dri/renderD129')],
    })
    assert.throws(() => gpuSettings([gpu(0, 'Intel', '0000:09:00.0')], resolve), /cannot resolve/)
    assert.throws(() => gpuSettings([gpu(0, 'AMD/ATI')], resolve), /no PCI address/)
    const o = create({ Image: 'i' }, { gpus: [gpu(1, 'NVIDIA')] })
    assert.deepEqual(o.HostConfig!.DeviceRequests![0].DeviceIDs, ['1'])
  })
})

describe('docker stream demux', () => {
  const frame = (type: number, text: string): Buffer => {
    const payload = Buffer.from(text)
    const h = Buffer.alloc(8)
    h[0] = type
    h.writeUInt32BE(payload.length, 4)
    return Buffer.concat([h, payload])
  }
  const collect = () => {
    const out: Record<StreamKind, string> = { stdout: '', stderr: '' }
    const d = new Demuxer((k, c) => (out[k] += Buffer.from(c).toString()))
    return { d, out }
  }

  it('splits whole frames', () => {
    const { d, out } = collect()
    d.push(Buffer.concat([frame(1, 'out1\n'), frame(2, 'err\n'), frame(1, 'out2\n')]))
    assert.deepEqual(out, { stdout: 'out1\nout2\n', stderr: 'err\n' })
    assert.equal(d.partial, false)
  })

  it('handles frames cut at every byte', () => {
    const all = Buffer.concat([frame(1, 'hello '), frame(2, 'E'), frame(1, 'world'), frame(1, '')])
    const { d, out } = collect()
    for (let i = 0; i < all.length; i++) d.push(all.subarray(i, i + 1))
    assert.deepEqual(out, { stdout: 'hello world', stderr: 'E' })
    assert.equal(d.partial, false)
  })

  it('forwards a payload before its frame is complete', () => {
    const { d, out } = collect()
    const f = frame(1, 'abcdef')
    d.push(f.subarray(0, 11))
    assert.equal(out.stdout, 'abc')
    assert.equal(d.partial, true)
    d.push(f.subarray(11))
    assert.equal(out.stdout, 'abcdef')
  })

  it('hands out copies', () => {
    const chunks: Uint8Array[] = []
    const d = new Demuxer((_k, c) => chunks.push(c))
    const buf = frame(1, 'xy')
    d.push(buf)
    buf.fill(0)
    assert.equal(Buffer.from(chunks[0]).toString(), 'xy')
  })
})

describe('docker image and error helpers', () => {
  it('normalises references', () => {
    assert.equal(normalizeImageRef('busybox'), 'busybox:latest')
    assert.equal(normalizeImageRef('busybox:1.37.0'), 'busybox:1.37.0')
    assert.equal(normalizeImageRef('127.0.0.1:5000/a/b'), '127.0.0.1:5000/a/b:latest')
    assert.equal(normalizeImageRef('127.0.0.1:5000/a/b:2'), '127.0.0.1:5000/a/b:2')
    assert.equal(normalizeImageRef('ubuntu@sha256:abc'), 'ubuntu@sha256:abc')
  })

  it('matches platforms', () => {
    const host = { os: 'linux', arch: 'amd64' }
    assert.equal(platformMatches({ Os: 'linux', Architecture: 'amd64' }, host), true)
    assert.equal(platformMatches({ Os: 'linux', Architecture: 'arm64' }, host), false)
    assert.equal(platformMatches({}, host), true)
  })

  it('finds errors in progress streams', () => {
    assert.equal(progressError([{ status: 'Pulling' } as object, { error: 'boom' }]), 'boom')
    assert.equal(progressError([{ errorDetail: { message: 'detail' }, error: 'short' }]), 'detail')
    assert.equal(progressError([]), undefined)
  })

  it('extracts the engine message', () => {
    const err = Object.assign(new Error('(HTTP code 404) no such container - No such container: x '), {
      statusCode: 404,
      json: { message: 'No such container: x' },
    })
    assert.equal(engineMessage(err), 'No such container: x')
    assert.equal(
      engineMessage(Object.assign(new Error('(HTTP code 500) server error - boom '), { json: null })),
      'boom',
    )
    assert.equal(engineMessage(Object.assign(new Error('x'), { json: '{"message":"m"}' })), 'm')
  })

  it('explains a missing executable', () => {
    const err = {
      statusCode: 400,
      json: {
        message:
          'failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "nosuch": executable file not found in $PATH: unknown',
      },
    }
    const msg = startFailure(err, 'busybox:latest')
    assert.match(msg, /^failed to start container: exec: "nosuch": executable file not found in \$PATH/)
    assert.match(msg, /busybox:latest/)
    assert.equal(startFailure({ json: { message: 'other' } }, 'i'), 'failed to start container: other')
  })
})
