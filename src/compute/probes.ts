// Operator-defined admission probes (JobAdmissionControl.ProbeExec / ProbeHTTP): the node
// hands the job to a command or an HTTP endpoint, which decides whether to bid.
import { spawn } from 'node:child_process'
import { stringifyJson } from '../models/json.js'
import type { Job } from '../models/job.js'

const PROBE_TIMEOUT_MS = 10_000

/** Runs `bash -c <command>` with the job on stdin; exit 0 means bid. Returns a rejection reason. */
export function execProbe(command: string, job: Job): Promise<string | undefined> {
  const data = stringifyJson({ Job: job })
  return new Promise((resolve) => {
    // --norc: Node's stdio pipes are sockets, which bash takes for a remote shell and
    // would otherwise source ~/.bashrc.
    const child = spawn('bash', ['--norc', '--noprofile', '-c', command], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BACALHAU_JOB_SELECTION_PROBE_DATA: data },
      stdio: ['pipe', 'ignore', 'pipe'],
    })
    let stderr = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS)
    child.stderr.on('data', (d) => {
      if (stderr.length < 4096) stderr += d
    })
    child.on('error', (err) => {
      clearTimeout(timer)
      resolve(`this node does not accept this job: probe command could not run: ${err.message}`)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code === 0) return resolve(undefined)
      const why = stderr.trim()
      resolve(
        why
          ? `this node does not accept this job: ${why}`
          : `this node does not accept jobs where external command "${command}" returns exit code ${code ?? 'signal'}`,
      )
    })
    child.stdin.on('error', () => {})
    child.stdin.end(data)
  })
}

/** POSTs the job to an HTTP endpoint; see bacalhau-behaviour.md §3.8 for the contract. */
export async function httpProbe(url: string, job: Job): Promise<string | undefined> {
  let res: Response
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stringifyJson({ Job: job }),
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    })
  } catch (err) {
    return `this node does not accept this job: HTTP probe ${url} failed: ${(err as Error).message}`
  }
  const text = await res.text()
  if (res.status >= 400) return `this node does not accept this job: HTTP probe answered ${res.status}`
  if ((res.headers.get('content-type') ?? '').split(';')[0].trim() !== 'application/json') return undefined
  try {
    const body = JSON.parse(text) as { ShouldBid?: unknown; Reason?: unknown }
    if (body.ShouldBid === true) return undefined
    const reason = typeof body.Reason === 'string' && body.Reason ? body.Reason : 'HTTP probe declined'
    return `this node does not accept this job: ${reason}`
  } catch {
    return `this node does not accept this job: HTTP probe returned invalid JSON`
  }
}
