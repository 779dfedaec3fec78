// The noop engine: completes at once with exit code 0. Used by tests and benchmarks to
// measure the system without an engine's cost. Params.ExitCode / Params.Stdout / Params.SleepMs
// let tests shape its result.
import { paramValue } from '../../models/ci.js'
import type { Executor, RunRequest, RunResult } from '../types.js'

export class NoopExecutor implements Executor {
  readonly name = 'noop'

  async isInstalled(): Promise<boolean> {
    return true
  }

  async run(req: RunRequest, signal: AbortSignal): Promise<RunResult> {
    const params = req.engine.Params
    const sleepMs = Number(paramValue(params, 'SleepMs') ?? 0)
    if (sleepMs > 0) {
      const outcome = await new Promise<'done' | 'timeout' | 'cancelled'>((resolve) => {
        const timer = setTimeout(() => finish('done'), sleepMs)
        const timeout = req.timeoutMs ? setTimeout(() => finish('timeout'), req.timeoutMs) : undefined
        const onAbort = () => finish('cancelled')
        signal.addEventListener('abort', onAbort, { once: true })
        function finish(r: 'done' | 'timeout' | 'cancelled') {
          clearTimeout(timer)
          if (timeout) clearTimeout(timeout)
          signal.removeEventListener('abort', onAbort)
          resolve(r)
        }
      })
      if (outcome === 'timeout')
        return { exitCode: -1, error: `execution timed out after ${req.timeoutMs! / 1000}s`, timedOut: true }
      if (outcome === 'cancelled') return { exitCode: -1, error: 'execution cancelled' }
    }
    const stdout = paramValue(params, 'Stdout')
    if (typeof stdout === 'string' && stdout) req.output.stdout(Buffer.from(stdout))
    const error = paramValue(params, 'Error')
    if (typeof error === 'string' && error) return { exitCode: -1, error }
    return { exitCode: Number(paramValue(params, 'ExitCode') ?? 0) }
  }
}
