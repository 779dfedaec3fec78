// Pure translation of a RunRequest into a Docker container-create body
// (bacalhau-behaviour.md §4.2). Nothing here talks to the engine, so it is unit-tested alone.
import fs from 'node:fs'
import os from 'node:os'
import type Docker from 'dockerode'
import type { GpuInfo } from '../../compute/gpu/types.js'
import type { RunRequest } from '../types.js'
import { splitEnvEntry, type DockerParams } from './params.js'

export const LABEL_EXECUTOR = 'bacalhau-executor'
export const LABEL_JOB = 'bacalhau-jobID'
export const LABEL_EXECUTION = 'bacalhau-executionID'

/**
 * Capabilities a container keeps after `CapDrop: ALL`. Enough for root inside an ordinary
 * image to own its filesystem (package managers chown/chmod and drop to service users,
 * servers bind low ports, shells signal their children). Dropped from Docker's default set:
 * MKNOD (device nodes), NET_RAW (raw sockets, packet spoofing), SETPCAP, SETFCAP,
 * SYS_CHROOT and AUDIT_WRITE, which batch jobs do not need.
 */
export const KEPT_CAPABILITIES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'NET_BIND_SERVICE',
  'SETGID',
  'SETUID',
] as const

/** Counts threads too, so it sits well above what a busy JVM or Go runtime needs. */
export const DEFAULT_PIDS_LIMIT = 4096

/** The engine refuses limits under 6 MiB; a smaller allocation gets the minimum. */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024
export const MIN_CPU = 0.01

export const executorIdFor = (nodeId: string): string => `bacalhau-${nodeId}`

/** Docker names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*; anything else becomes '-'. */
export function sanitizeContainerName(name: string): string {
  let out = name.replace(/[^a-zA-Z0-9_.-]/g, '-')
  if (!/^[a-zA-Z0-9]/.test(out)) out = `x${out}`
  return out
}

export function containerName(executorId: string, jobId: string, executionId: string): string {
  return sanitizeContainerName(`bacalhau-${executorId}-${jobId}-${executionId}-executor`)
}

/** Bacalhau concatenates the executor ID and the job/execution ID in the label values. */
export function containerLabels(
  executorId: string,
  jobId: string,
  executionId: string,
): Record<string, string> {
  return {
    [LABEL_EXECUTOR]: executorId,
    [LABEL_JOB]: `${executorId}${jobId}`,
    [LABEL_EXECUTION]: `${executorId}${executionId}`,
  }
}

/** Task/system env first, engine EnvironmentVariables win on a clash. */
export function mergeEnv(base: Record<string, string>, engineEnv: string[]): string[] {
  const merged = new Map(Object.entries(base))
  for (const entry of engineEnv) {
    const kv = splitEnvEntry(entry)
    if (kv) merged.set(kv[0], kv[1])
  }
  return [...merged].map(([k, v]) => `${k}=${v}`)
}

export interface NetworkSettings {
  NetworkMode: string
  NetworkDisabled?: boolean
  ExtraHosts?: string[]
}

export const HTTP_NETWORK_UNSUPPORTED =
  'HTTP network mode needs an egress gateway, which this node does not have'

/** Throws with the rejection reason for a network type this executor cannot provide. */
export function networkSettings(type: string): NetworkSettings {
  const hostGateway = ['host.docker.internal:host-gateway']
  switch ((type || 'None').toLowerCase()) {
    case 'none':
      return { NetworkMode: 'none', NetworkDisabled: true }
    case 'host':
    case 'full':
      return { NetworkMode: 'host', ExtraHosts: hostGateway }
    case 'bridge':
      return { NetworkMode: 'bridge', ExtraHosts: hostGateway }
    case 'http':
      throw new Error(HTTP_NETWORK_UNSUPPORTED)
    case 'default':
      // The compute node resolves Default before calling; reaching here is a wiring bug,
      // and the safe reading is no network.
      return { NetworkMode: 'none', NetworkDisabled: true }
    default:
      throw new Error(`unsupported network type '${type}'`)
  }
}

export interface GpuSettings {
  DeviceRequests?: Docker.DeviceRequest[]
  Devices?: Docker.DeviceMapping[]
}

/** Follows a /dev/dri/by-path link to the device node; injectable for tests. */
export type DevicePathResolver = (path: string) => string

const defaultResolver: DevicePathResolver = (p) => fs.realpathSync(p)

function driDevices(gpu: GpuInfo, resolve: DevicePathResolver): Docker.DeviceMapping[] {
  if (!gpu.PCIAddress) {
    throw new Error(
      `GPU ${gpu.Index} (${gpu.Vendor}) has no PCI address, so its /dev/dri nodes cannot be found`,
    )
  }
  return ['card', 'render'].map((kind) => {
    const link = `/dev/dri/by-path/pci-${gpu.PCIAddress}-${kind}`
    let dev: string
    try {
      dev = resolve(link)
    } catch (err) {
      throw new Error(`GPU ${gpu.Index} (${gpu.Vendor}): cannot resolve ${link}: ${(err as Error).message}`)
    }
    return { PathOnHost: dev, PathInContainer: dev, CgroupPermissions: 'rwm' }
  })
}

/** Device requests/mappings that expose the assigned GPUs to the container. */
export function gpuSettings(gpus: GpuInfo[] | undefined, resolve = defaultResolver): GpuSettings {
  if (!gpus || gpus.length === 0) return {}
  const out: GpuSettings = {}
  const nvidia = gpus.filter((g) => g.Vendor === 'NVIDIA')
  if (nvidia.length > 0) {
    out.DeviceRequests = [
      { Driver: 'nvidia', DeviceIDs: nvidia.map((g) => String(g.Index)), Capabilities: [['gpu']] },
    ]
  }
  const devices: Docker.DeviceMapping[] = []
  const amd = gpus.filter((g) => g.Vendor === 'AMD/ATI')
  // ROCm needs the compute interface once, plus each GPU's DRM nodes.
  if (amd.length > 0)
    devices.push({ PathOnHost: '/dev/kfd', PathInContainer: '/dev/kfd', CgroupPermissions: 'rwm' })
  for (const g of amd) devices.push(...driDevices(g, resolve))
  for (const g of gpus.filter((x) => x.Vendor === 'Intel')) devices.push(...driDevices(g, resolve))
  if (devices.length > 0) out.Devices = devices
  return out
}

/** Mount targets must be absolute; Bacalhau's specs often omit the leading slash. */
const absTarget = (p: string): string => (p.startsWith('/') ? p : `/${p}`)

export interface CreateOptionsInput {
  executorId: string
  image: string
  params: DockerParams
  request: RunRequest
  pidsLimit?: number
  resolveDevice?: DevicePathResolver
  /** CPUs the engine's host has (default: this host's). */
  hostCpus?: number
}

/** The container-create body; throws with a rejection reason (network, GPUs). */
export function buildCreateOptions(input: CreateOptionsInput): Docker.ContainerCreateOptions {
  const { executorId, image, params, request: req } = input
  const net = networkSettings(req.network)
  const gpu = gpuSettings(req.gpus, input.resolveDevice)

  // Bacalhau's rule: a non-empty Entrypoint replaces the image's and Parameters become
  // Cmd (the daemon then ignores the image CMD); otherwise Parameters replace the image
  // CMD and the image ENTRYPOINT stays.
  const entry =
    params.entrypoint.length > 0
      ? { Entrypoint: params.entrypoint, Cmd: params.parameters }
      : params.parameters.length > 0
        ? { Cmd: params.parameters }
        : {}

  // Mounts rather than Binds: a host path holding ':' or ',' cannot be written as a Binds
  // string, and a missing source is an error instead of a silently created empty dir.
  const mounts: Docker.MountSettings[] = [
    ...req.inputs.map((i): Docker.MountSettings => ({
      Type: 'bind',
      Source: i.hostPath,
      Target: absTarget(i.target),
      ReadOnly: i.readOnly,
    })),
    ...req.outputs.map((o): Docker.MountSettings => ({
      Type: 'bind',
      Source: o.hostPath,
      Target: absTarget(o.path),
      ReadOnly: false,
    })),
  ]

  const hostConfig: Docker.HostConfig = {
    Mounts: mounts,
    NetworkMode: net.NetworkMode,
    Privileged: false,
    ReadonlyRootfs: false,
    SecurityOpt: ['no-new-privileges'],
    CapDrop: ['ALL'],
    CapAdd: [...KEPT_CAPABILITIES],
    PidsLimit: input.pidsLimit ?? DEFAULT_PIDS_LIMIT,
    // Output is taken from the attach stream; the engine's own log copy would only double
    // the disk use of a chatty job (json-file has no size cap by default).
    LogConfig: { Type: 'none', Config: {} },
    ...gpu,
  }
  if (net.ExtraHosts) hostConfig.ExtraHosts = net.ExtraHosts
  if (req.cpu && req.cpu > 0) {
    // The engine refuses quotas under 0.01 CPU or above the host's CPU count; clamping
    // serves such an allocation as closely as the host allows instead of failing the job.
    const cpus = Math.min(Math.max(req.cpu, MIN_CPU), input.hostCpus ?? os.cpus().length)
    hostConfig.NanoCpus = Math.round(cpus * 1e9)
  }
  if (req.memoryBytes && req.memoryBytes > 0) {
    const mem = Math.max(MIN_MEMORY_BYTES, Math.floor(req.memoryBytes))
    // Equal to Memory: no swap on top of the limit, so the limit is the real one.
    hostConfig.Memory = mem
    hostConfig.MemorySwap = mem
  }

  const opts: Docker.ContainerCreateOptions = {
    name: containerName(executorId, req.jobId, req.executionId),
    Image: image,
    ...entry,
    Env: mergeEnv(req.env, params.environmentVariables),
    Labels: containerLabels(executorId, req.jobId, req.executionId),
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: hostConfig,
  }
  if (params.workingDirectory) opts.WorkingDir = params.workingDirectory
  if (net.NetworkDisabled) opts.NetworkDisabled = true
  return opts
}
