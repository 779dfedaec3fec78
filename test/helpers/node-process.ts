// Starts a real node process (src/node.ts, compiled beside this file's build) and
// runs the real `bacalhau` CLI against it.
import { ExecutionStateType } from '../../src/models/enums.js'
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const NODE_ENTRY = fileURLToPath(new URL('../../src/node.js', import.meta.url))
export const CLI_ENTRY = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))

export interface NodeProcess {
  apiUrl: string
  port: number
  dataDir: string
  proc: ChildProcess
  output: () => string
  /** Graceful stop (SIGTERM); resolves with the exit code. */
  stop(): Promise<number | null>
  /** kill -9, leaving the data directory as it is. */
  kill9(): Promise<void>
}

export interface StartOptions {
  role?: 'hybrid' | 'orchestrator' | 'compute'
  dataDir?: string
  args?: string[]
  env?: Record<string, string>
  timeoutMs?: number
}

export async function startNodeProcess(opts: StartOptions = {}): Promise<NodeProcess> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'node-'))
  const args = [
    NODE_ENTRY,
    '--role',
    opts.role ?? 'hybrid',
    '--api-port',
    '0',
    '--data-dir',
    dataDir,
    '-c',
    'Publishers.Types.Local.Port=0',
    '-c',
    'Orchestrator.Port=0',
    ...(opts.args ?? []),
  ]
  const proc = spawn(process.execPath, args, {
    env: { ...process.env, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  proc.stdout!.on('data', (d) => (out += d))
  proc.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  const apiUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`node did not start in time:\n${out}`)),
      opts.timeoutMs ?? 20_000,
    )
    const onData = () => {
      const m = /API listening on (http:\/\/\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        proc.stdout!.off('data', onData)
        resolve(m[1])
      }
    }
    proc.stdout!.on('data', onData)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`node exited with ${code} before starting:\n${out}`))
    })
  })
  return {
    apiUrl,
    port: Number(new URL(apiUrl).port),
    dataDir,
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode
      proc.kill('SIGTERM')
      return exited
    },
    async kill9() {
      if (proc.exitCode === null) {
        proc.kill('SIGKILL')
        await exited
      }
    },
  }
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the CLI against a node; never throws on a non-zero exit. */
export function runCli(
  args: string[],
  opts: {
    port?: number
    env?: Record<string, string>
    cwd?: string
    input?: string
    timeoutMs?: number
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = { ...(process.env as Record<string, string>), ...opts.env }
    if (opts.port) {
      env.BACALHAU_API_HOST = '127.0.0.1'
      env.BACALHAU_API_PORT = String(opts.port)
    }
    const proc = spawn(process.execPath, [CLI_ENTRY, ...args], {
      env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (d) => (stdout += d))
    proc.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`bacalhau ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, opts.timeoutMs ?? 30_000)
    proc.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    proc.stdin.end(opts.input ?? '')
  })
}

export async function api<T = any>(
  node: { apiUrl: string },
  method: string,
  p: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const send = () =>
    fetch(node.apiUrl + p, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    })
  let res: Response
  try {
    res = await send()
  } catch {
    // A pooled keep-alive connection the server just closed fails once; a real outage
    // fails again.
    res = await send()
  }
  const text = await res.text()
  let parsed: any = text
  try {
    parsed = JSON.parse(text)
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed as T }
}

export async function waitForJobState(
  node: { apiUrl: string },
  id: string,
  states: string[],
  timeoutMs = 20_000,
): Promise<any> {
  const end = Date.now() + timeoutMs
  let last: any
  while (Date.now() < end) {
    const r = await api(node, 'GET', `/api/v1/orchestrator/jobs/${id}`)
    last = r.body
    if (r.status === 200 && states.includes(r.body.Job.State.StateType)) return r.body.Job
    await new Promise((res) => setTimeout(res, 50))
  }
  throw new Error(`job ${id} did not reach ${states.join('/')}: ${JSON.stringify(last)?.slice(0, 500)}`)
}

interface ExecutionSummary {
  ID: string
  NodeID: string
  ComputeState: { StateType: number; Message?: string }
  RunOutput?: { Stdout?: string; stderr?: string; ExitCode?: number }
}

/**
 * The completed execution of a job (a job may have retried a failed one first); fails
 * with every execution's node, state and message so a retry's cause is visible.
 */
export async function completedExecution(node: { apiUrl: string }, jobId: string): Promise<ExecutionSummary> {
  const execs = await api(node, 'GET', `/api/v1/orchestrator/jobs/${jobId}/executions`)
  const items = (execs.body.Items ?? []) as ExecutionSummary[]
  const done = items.find((e) => e.ComputeState.StateType === ExecutionStateType.Completed)
  if (!done)
    throw new Error(
      `job ${jobId} has no completed execution: ${JSON.stringify(items.map((e) => [e.NodeID, e.ComputeState]))}`,
    )
  return done
}
