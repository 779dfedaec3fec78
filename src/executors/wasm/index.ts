// The WASM executor: WASI preview1 modules run by @bjorn3/browser_wasi_shim, one
// worker thread per execution, over a host-backed virtual filesystem.
import { Worker } from 'node:worker_threads'
import type { SpecConfig } from '../../models/job.js'
import { logger } from '../../util/logger.js'
import type { Executor, RunRequest, RunResult } from '../types.js'
import { ModuleLoadError, loadModules } from './loader.js'
import { capToPages } from './memory-limit.js'
import { VirtualFs, buildMounts } from './mounts.js'
import { parseWasmParams } from './params.js'
import type { StartMessage, WorkerMessage } from './protocol.js'
import { RingReader, createRing } from './ring.js'
import { Wasm } from './wasm-api.js'

const WORKER_URL = new URL('./worker.js', import.meta.url)

/** JS heap limits of a job's worker; the module's linear memory is not part of them. */
const WORKER_LIMITS = { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32, stackSizeMb: 8 }

/** Go-style duration text ("500ms", "1.5s", "2m0s"), as Bacalhau prints timeouts. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  const trim = (n: number): string => String(Number(n.toFixed(3)))
  const h = Math.floor(ms / 3_600_000)
  const m = Math.floor((ms % 3_600_000) / 60_000)
  const s = (ms % 60_000) / 1000
  if (h > 0) return `${h}h${m}m${trim(s)}s`
  if (m > 0) return `${m}m${trim(s)}s`
  return `${trim(s)}s`
}

export interface WasmExecutorOptions {
  /**
   * Keep one booted worker in reserve (default true). Booting a worker thread and
   * loading the WASI shim costs about 20 ms, which would otherwise be paid by every job.
   */
  prewarm?: boolean
}

function spawnWorker(): Worker {
  // stdout/stderr: true keeps anything the worker itself might print off the node's
  // own stdout (which may carry CLI or JSON output); the module's output uses the rings.
  // trackUnmanagedFds (Node's default, stated because we rely on it): host files the
  // module held open are closed when its worker is terminated.
  return new Worker(WORKER_URL, {
    resourceLimits: WORKER_LIMITS,
    stdout: true,
    stderr: true,
    trackUnmanagedFds: true,
  })
}

export class WasmExecutor implements Executor {
  readonly name = 'wasm'
  private readonly log = logger().child({ component: 'executor', engine: 'wasm' })
  private readonly prewarm: boolean
  private spare: Worker | undefined
  private closed = false

  constructor(opts: WasmExecutorOptions = {}) {
    this.prewarm = opts.prewarm ?? true
  }

  async isInstalled(): Promise<boolean> {
    return typeof Wasm === 'object'
  }

  validate(engine: SpecConfig): string | undefined {
    try {
      parseWasmParams(engine)
      return undefined
    } catch (err) {
      return (err as Error).message
    }
  }

  /** Terminates the reserve worker. Running executions are not affected. */
  async close(): Promise<void> {
    this.closed = true
    const w = this.spare
    this.spare = undefined
    if (w) await w.terminate().catch(() => undefined)
  }

  /** A fresh worker for one execution (the reserve if any), and a new reserve booting. */
  private takeWorker(): Worker {
    const w = this.spare ?? spawnWorker()
    this.spare = undefined
    w.ref()
    if (this.prewarm && !this.closed) {
      const next = spawnWorker()
      // An idle reserve must not keep the process alive.
      next.unref()
      const drop = (): void => {
        if (this.spare === next) this.spare = undefined
      }
      next.on('error', drop)
      next.once('exit', drop)
      this.spare = next
    }
    return w
  }

  run(req: RunRequest, signal: AbortSignal): Promise<RunResult> {
    if (signal.aborted) return Promise.resolve({ exitCode: -1, error: 'execution cancelled' })
    let params: ReturnType<typeof parseWasmParams>
    let mounts: ReturnType<typeof buildMounts>
    try {
      params = parseWasmParams(req.engine)
      mounts = buildMounts(req.inputs, req.outputs)
    } catch (err) {
      return Promise.resolve({ exitCode: -1, error: (err as Error).message })
    }
    const log = this.log.child({ executionId: req.executionId })
    const vfs = new VirtualFs(mounts)
    const capPages = req.memoryBytes && req.memoryBytes > 0 ? capToPages(req.memoryBytes) : undefined

    const stdoutRing = createRing()
    const stderrRing = createRing()
    const safe = (stream: 'stdout' | 'stderr') => (chunk: Uint8Array) => {
      try {
        req.output[stream](chunk)
      } catch (err) {
        log.warn({ err }, `output sink for ${stream} failed`)
      }
    }
    const readers = [new RingReader(stdoutRing, safe('stdout')), new RingReader(stderrRing, safe('stderr'))]

    // Taken before the modules are compiled so a cold worker's boot overlaps the compile.
    const worker = this.takeWorker()
    for (const r of readers) r.follow()

    return new Promise<RunResult>((resolve) => {
      let settled = false
      let started = false
      let timer: NodeJS.Timeout | undefined

      const finish = (result: RunResult, workerDone = false): void => {
        if (settled) return
        settled = true
        if (timer) clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        worker.removeAllListeners('message')
        const terminated = worker.terminate().catch(() => undefined)
        if (result.error) log.debug({ result }, 'wasm execution failed')
        if (workerDone) {
          // The worker reported its end: its output is all in the rings and it has
          // closed its files, so there is nothing to wait for.
          for (const r of readers) r.close()
          resolve(result)
          return
        }
        void terminated.then(() => {
          // The worker is gone (and Node has closed its files): collect its last output.
          for (const r of readers) r.close()
          resolve(result)
        })
      }
      const onAbort = (): void => finish({ exitCode: -1, error: 'execution cancelled' })
      signal.addEventListener('abort', onAbort, { once: true })
      if (req.timeoutMs && req.timeoutMs > 0) {
        const ms = req.timeoutMs
        timer = setTimeout(
          () =>
            finish({
              exitCode: -1,
              error: `execution timed out after ${formatDuration(ms)}`,
              timedOut: true,
            }),
          ms,
        )
      }

      worker.on('message', (msg: WorkerMessage) => {
        if (msg.type === 'started') started = true
        else if (msg.type === 'done') {
          finish(msg.error ? { exitCode: msg.exitCode, error: msg.error } : { exitCode: msg.exitCode }, true)
        }
      })
      worker.on('error', (err) => {
        const oom = (err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY'
        finish({
          exitCode: started ? 1 : -1,
          error: oom ? 'wasm worker ran out of JS heap memory' : `wasm worker failed: ${err.message}`,
        })
      })
      worker.once('exit', (code) => {
        finish({ exitCode: started ? 1 : -1, error: `wasm worker exited unexpectedly (code ${code})` })
      })

      const mountPaths = mounts.map((m) => m.vpath)
      loadModules(vfs, mountPaths, {
        entryModule: params.entryModule,
        importModules: params.importModules,
        capPages,
      })
        .then((modules) => {
          if (settled) return
          const entry = modules.find((m) => m.name === params.entryModule)!
          const exported = Wasm.Module.exports(entry.module)
          if (!exported.some((e) => e.name === params.entrypoint && e.kind === 'function')) {
            finish({
              exitCode: -1,
              error: `unable to find the entrypoint '${params.entrypoint}' in the WASM module`,
            })
            return
          }
          const env = Object.keys(req.env)
            .sort()
            .map((k) => `${k}=${req.env[k]}`)
          const start: StartMessage = {
            type: 'start',
            modules,
            entry: params.entryModule,
            entrypoint: params.entrypoint,
            args: [params.entryModule, ...params.parameters],
            env,
            mounts,
            stdout: stdoutRing,
            stderr: stderrRing,
          }
          worker.postMessage(start)
        })
        .catch((err: unknown) => {
          if (!(err instanceof ModuleLoadError)) log.warn({ err }, 'unexpected error loading WASM modules')
          finish({ exitCode: -1, error: (err as Error).message })
        })
    })
  }
}
