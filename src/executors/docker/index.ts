// The Docker executor (bacalhau-behaviour.md §4.2): one container per execution on the
// local Docker Engine, output streamed live from an attach made before start, and the
// container removed whatever happens.
import Docker from 'dockerode'
import type { SpecConfig } from '../../models/job.js'
import type { Logger } from '../../util/logger.js'
import type { Executor, RunRequest, RunResult } from '../types.js'
import { formatDuration } from '../wasm/index.js'
import {
  LABEL_EXECUTION,
  LABEL_EXECUTOR,
  buildCreateOptions,
  executorIdFor,
  networkSettings,
} from './config.js'
import { Demuxer } from './demux.js'
import { engineMessage, startFailure, statusCodeOf } from './errors.js'
import { ImageManager, normalizeImageRef } from './image.js'
import { parseDockerParams } from './params.js'

export { HTTP_NETWORK_UNSUPPORTED, KEPT_CAPABILITIES, DEFAULT_PIDS_LIMIT } from './config.js'
export { LABEL_EXECUTION, LABEL_EXECUTOR, LABEL_JOB, executorIdFor } from './config.js'

export interface DockerExecutorOptions {
  nodeId: string
  logger: Logger
  /** Engine socket; default: DOCKER_HOST, else /var/run/docker.sock. */
  socketPath?: string
  /** Give up on a pull after this long (default 10 minutes). */
  pullTimeoutMs?: number
  /** Never pull; only local images run (default: SKIP_IMAGE_PULL is set). */
  skipPull?: boolean
  /** Per-container process/thread cap (default DEFAULT_PIDS_LIMIT). */
  pidsLimit?: number
}

const PING_TIMEOUT_MS = 2000
const DEFAULT_PULL_TIMEOUT_MS = 10 * 60_000
/** How long output may trail the container's exit before we stop waiting for it. */
const OUTPUT_DRAIN_MS = 5000

const truthy = (v: string | undefined): boolean => !!v && !/^(0|false|no|off)$/i.test(v.trim())

type StopReason = 'cancelled' | 'timeout' | 'closed'

interface ActiveRun {
  stop(reason: StopReason): void
  done: Promise<unknown>
}

export class DockerExecutor implements Executor {
  readonly name = 'docker'
  readonly executorId: string
  private readonly docker: Docker
  private readonly log: Logger
  private readonly images: ImageManager
  private readonly pidsLimit: number | undefined
  private readonly active = new Set<ActiveRun>()
  private closed = false
  private configError: string | undefined

  constructor(opts: DockerExecutorOptions) {
    this.executorId = executorIdFor(opts.nodeId)
    this.log = opts.logger.child({ component: 'executor', engine: 'docker' })
    // Without a socketPath, docker-modem reads DOCKER_HOST (unix://, tcp://, TLS vars)
    // and falls back to /var/run/docker.sock.
    let docker: Docker
    try {
      docker = opts.socketPath ? new Docker({ socketPath: opts.socketPath }) : new Docker()
    } catch (err) {
      // docker-modem throws on a malformed DOCKER_HOST. The node should still start, without
      // this executor, rather than quietly talk to some other engine.
      this.configError = `invalid DOCKER_HOST: ${(err as Error).message}`
      this.log.warn({ DOCKER_HOST: process.env.DOCKER_HOST }, this.configError)
      docker = new Docker({ socketPath: '/var/run/docker.sock' })
    }
    this.docker = docker
    const user = process.env.DOCKER_USERNAME
    const password = process.env.DOCKER_PASSWORD
    this.images = new ImageManager(this.docker, this.log, {
      skipPull: opts.skipPull ?? truthy(process.env.SKIP_IMAGE_PULL),
      pullTimeoutMs: opts.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS,
      auth: user && password ? { username: user, password } : undefined,
    })
    this.pidsLimit = opts.pidsLimit
  }

  async isInstalled(): Promise<boolean> {
    if (this.configError) return false
    try {
      // ping's typings lack options, but dockerode passes abortSignal through.
      const ping = this.docker.ping as unknown as (o: { abortSignal: AbortSignal }) => Promise<unknown>
      await ping.call(this.docker, { abortSignal: AbortSignal.timeout(PING_TIMEOUT_MS) })
      return true
    } catch {
      return false
    }
  }

  validate(engine: SpecConfig): string | undefined {
    try {
      parseDockerParams(engine)
      return undefined
    } catch (err) {
      return (err as Error).message
    }
  }

  /** Checks a network type at bid time; the reason it cannot be served, or undefined. */
  validateNetwork(type: string): string | undefined {
    try {
      networkSettings(type)
      return undefined
    } catch (err) {
      return (err as Error).message
    }
  }

  /**
   * Removes what a previous run of this node left behind: every container and network
   * labelled with this executor ID. Call before accepting work.
   */
  async start(): Promise<void> {
    if (this.configError) return
    const removed = await this.sweep(`${LABEL_EXECUTOR}=${this.executorId}`)
    if (removed > 0) this.log.info({ removed }, 'removed orphaned docker objects from a previous run')
  }

  /** Stops running executions (they resolve as cancelled) and removes this executor's objects. */
  async close(): Promise<void> {
    this.closed = true
    const runs = [...this.active]
    for (const r of runs) r.stop('closed')
    await Promise.allSettled(runs.map((r) => r.done))
    if (this.configError) return
    await this.sweep(`${LABEL_EXECUTOR}=${this.executorId}`).catch((err: unknown) =>
      this.log.warn({ err: engineMessage(err) }, 'could not remove docker objects on close'),
    )
  }

  run(req: RunRequest, signal: AbortSignal): Promise<RunResult> {
    let stop: (reason: StopReason) => void = () => undefined
    const done = this.execute(req, signal, (s) => (stop = s)).catch((err: unknown): RunResult => {
      // execute() handles its own failures; this is the last line of defence for run()'s contract.
      this.log.error({ err, executionId: req.executionId }, 'unexpected docker executor failure')
      return { exitCode: -1, error: `docker executor failed: ${(err as Error)?.message ?? String(err)}` }
    })
    const entry: ActiveRun = { stop: (r) => stop(r), done }
    this.active.add(entry)
    void done.finally(() => this.active.delete(entry))
    return done
  }

  private async execute(
    req: RunRequest,
    signal: AbortSignal,
    exposeStop: (stop: (reason: StopReason) => void) => void,
  ): Promise<RunResult> {
    if (signal.aborted) return { exitCode: -1, error: 'execution cancelled' }
    if (this.closed) return { exitCode: -1, error: 'docker executor is shut down' }
    if (this.configError) return { exitCode: -1, error: this.configError }
    const log = this.log.child({ executionId: req.executionId })

    let createOptions: Docker.ContainerCreateOptions
    let image: string
    try {
      const params = parseDockerParams(req.engine)
      image = normalizeImageRef(params.image)
      createOptions = buildCreateOptions({
        executorId: this.executorId,
        image,
        params,
        request: req,
        pidsLimit: this.pidsLimit,
      })
    } catch (err) {
      return { exitCode: -1, error: (err as Error).message }
    }

    let reason: StopReason | undefined
    let wake: () => void = () => undefined
    const stopped = new Promise<void>((resolve) => (wake = resolve))
    const stop = (r: StopReason): void => {
      if (reason) return
      reason = r
      wake()
    }
    exposeStop(stop)
    const onAbort = (): void => stop('cancelled')
    signal.addEventListener('abort', onAbort, { once: true })
    const timeoutMs = req.timeoutMs && req.timeoutMs > 0 ? req.timeoutMs : 0
    // The clock covers the pull too, as in Bacalhau where the timeout wraps the whole run.
    const timer = timeoutMs ? setTimeout(() => stop('timeout'), timeoutMs) : undefined
    const stoppedResult = (): RunResult =>
      reason === 'timeout'
        ? { exitCode: -1, error: `execution timed out after ${formatDuration(timeoutMs)}`, timedOut: true }
        : { exitCode: -1, error: 'execution cancelled' }
    /** Races `p` against a stop; undefined means stopped first. */
    const unlessStopped = async <T>(p: Promise<T>): Promise<T | undefined> => {
      p.catch(() => undefined) // a loser's rejection is not unhandled
      return Promise.race([p, stopped.then(() => undefined)])
    }

    let container: Docker.Container | undefined
    let attached: NodeJS.ReadableStream | undefined
    try {
      try {
        await unlessStopped(this.images.ensure(image))
      } catch (err) {
        return { exitCode: -1, error: (err as Error).message }
      }
      if (reason) return stoppedResult()

      const creating = this.createContainer(createOptions)
      try {
        container = await unlessStopped(creating)
      } catch (err) {
        return { exitCode: -1, error: `failed to create container: ${engineMessage(err)}` }
      }
      if (!container) {
        // Stopped while the engine was still creating it: remove it once it exists.
        void creating.then(
          (c) => this.cleanup(c, req.executionId, log),
          () => undefined,
        )
        return stoppedResult()
      }
      if (reason) return stoppedResult()

      // Attach before start, or the first output of a quick task is lost.
      const stream = await container.attach({ stream: true, stdout: true, stderr: true })
      attached = stream
      const sink = (kind: 'stdout' | 'stderr', chunk: Uint8Array): void => {
        try {
          req.output[kind](chunk)
        } catch (err) {
          log.warn({ err }, `output sink for ${kind} failed`)
        }
      }
      const demux = new Demuxer(sink)
      const drained = new Promise<void>((resolve) => {
        stream.on('data', (c: Buffer) => demux.push(c))
        stream.once('end', resolve)
        stream.once('close', resolve)
        stream.once('error', (err) => {
          log.warn({ err: engineMessage(err) }, 'container output stream failed')
          resolve()
        })
      })

      try {
        await unlessStopped(container.start())
      } catch (err) {
        return { exitCode: -1, error: startFailure(err, image) }
      }
      if (reason) return stoppedResult()

      const waited = container.wait().then(
        (r: { StatusCode: number }) => ({ code: r.StatusCode }),
        (err: unknown) => ({ err }),
      )
      const outcome = await unlessStopped(waited)
      if (!outcome || reason) return stoppedResult()
      if ('err' in outcome)
        return { exitCode: -1, error: `failed waiting for container: ${engineMessage(outcome.err)}` }

      let drainTimer: NodeJS.Timeout | undefined
      await Promise.race([drained, new Promise((r) => (drainTimer = setTimeout(r, OUTPUT_DRAIN_MS)))])
      clearTimeout(drainTimer)
      if (demux.partial) log.warn('container output ended in the middle of a frame')

      // The engine may record the OOM kill a moment after the exit (when a child process,
      // not the container's main one, was killed): look again before calling it a plain 137.
      let info = await container.inspect()
      for (let i = 0; i < 5 && !info.State?.OOMKilled && outcome.code === 137 && req.memoryBytes; i++) {
        await new Promise((r) => setTimeout(r, 100))
        info = await container.inspect()
      }
      if (info.State?.OOMKilled) return { exitCode: outcome.code, error: 'memory limit exceeded' }
      // Under load the engine can miss the OOM event of a child process. A SIGKILL nobody
      // here sent, to a task running under a memory limit, is the kernel's OOM killer.
      if (outcome.code === 137 && req.memoryBytes)
        return {
          exitCode: outcome.code,
          error: 'memory limit exceeded (the task was killed with SIGKILL under its memory limit)',
        }
      return { exitCode: outcome.code }
    } catch (err) {
      if (reason) return stoppedResult()
      return { exitCode: -1, error: `docker: ${engineMessage(err)}` }
    } finally {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      ;(attached as { destroy?: () => void } | undefined)?.destroy?.()
      await this.cleanup(container, req.executionId, log)
    }
  }

  private async createContainer(opts: Docker.ContainerCreateOptions): Promise<Docker.Container> {
    try {
      return await this.docker.createContainer(opts)
    } catch (err) {
      // A container of the same name is a leftover of an earlier attempt at this execution
      // (node crash between create and remove): it is ours to replace.
      if (statusCodeOf(err) !== 409 || !opts.name) throw err
      await this.docker
        .getContainer(opts.name)
        .remove({ force: true, v: true })
        .catch(() => undefined)
      return await this.docker.createContainer(opts)
    }
  }

  /** Force-removes the container (killing it if running) and anything else of this execution. */
  private async cleanup(
    container: Docker.Container | undefined,
    executionId: string,
    log: Logger,
  ): Promise<void> {
    if (container) {
      try {
        // v: anonymous volumes from the image's VOLUME lines would otherwise pile up.
        await container.remove({ force: true, v: true })
      } catch (err) {
        const code = statusCodeOf(err)
        if (code !== 404 && code !== 409) log.warn({ err: engineMessage(err) }, 'could not remove container')
      }
    }
    await this.sweep(`${LABEL_EXECUTION}=${this.executorId}${executionId}`).catch((err: unknown) =>
      log.warn({ err: engineMessage(err) }, 'could not remove docker objects of the execution'),
    )
  }

  /** Removes containers (with their anonymous volumes) and networks carrying `label`. */
  private async sweep(label: string): Promise<number> {
    let removed = 0
    const containers = await this.docker.listContainers({ all: true, filters: { label: [label] } })
    await Promise.all(
      containers.map(async (c) => {
        try {
          await this.docker.getContainer(c.Id).remove({ force: true, v: true })
          removed++
        } catch (err) {
          if (statusCodeOf(err) !== 404)
            this.log.warn({ err: engineMessage(err), id: c.Id }, 'could not remove container')
        }
      }),
    )
    const networks = await this.docker.listNetworks({ filters: { label: [label] } })
    await Promise.all(
      networks.map(async (n) => {
        try {
          await this.docker.getNetwork(n.Id).remove()
          removed++
        } catch (err) {
          if (statusCodeOf(err) !== 404)
            this.log.warn({ err: engineMessage(err), id: n.Id }, 'could not remove network')
        }
      }),
    )
    return removed
  }
}
