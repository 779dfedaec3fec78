// Submission output and progress following for `wasm run` / `job run`
// (bacalhau-behaviour.md §1.7): the history-event table under a spinner, log
// following, and the footer. Unlike Bacalhau, a Failed job exits with code 1.
import ora, { type Ora } from 'ora'
import type { ApiClient } from '../api/client.js'
import { formatDuration } from '../config/types.js'
import type { JobHistory } from '../models/execution.js'
import type { Job } from '../models/job.js'
import type { SubmitJobResponse } from '../orchestrator/service.js'
import type { CliContext } from './context.js'
import { ExitCode } from './errors.js'
import type { RunTimeFlagValues } from './jobflags.js'
import { formatClock, shortId, toDate, toYaml } from './output.js'

/**
 * A spinner on stderr, drawn only on a terminal with a known width (ora loops on a
 * zero-column pty). While it spins ora intercepts stdout/stderr writes and redraws
 * itself below them, so callers just write.
 */
export class Spinner {
  private readonly ora?: Ora
  constructor(text: string) {
    if (process.stderr.isTTY && (process.stderr.columns ?? 0) > 0)
      this.ora = ora({
        text,
        stream: process.stderr,
        spinner: { frames: ['🐟', '🐠', '🐡'], interval: 200 },
        discardStdin: false,
      }).start()
  }
  set text(t: string) {
    if (this.ora) this.ora.text = t
  }
  stop(): void {
    this.ora?.stop()
  }
}

export interface RunSettings {
  wait: boolean
  idOnly: boolean
  follow: boolean
  /** Cap on progress tracking. */
  waitTimeoutMs: number
  nodeDetails?: boolean
  hideWarnings?: boolean
  namespace?: string
  pollIntervalMs?: number
}

export function printWarnings(ctx: CliContext, warnings: string[] | null | undefined): void {
  const list = (warnings ?? []).filter(Boolean)
  if (list.length === 1) ctx.err(`Warning: ${list[0]}\n`)
  else if (list.length > 1) ctx.err(`Warning:\n${list.map((w) => `  * ${w}`).join('\n')}\n`)
}

const COLS = { time: 12, exec: 10, topic: 21 }

function eventRow(time: string, exec: string, topic: string, event: string): string {
  const prefix = ` ${time.padEnd(COLS.time)}  ${exec.padEnd(COLS.exec)}  ${topic.padEnd(COLS.topic)}  `
  // Continuation lines of a multi-line message stay in the EVENT column.
  const indent = ' '.repeat(prefix.length)
  const lines = event.split('\n').map((l, i) => (i === 0 ? prefix : indent) + l)
  return lines.map((l) => l.trimEnd()).join('\n') + '\n'
}

/** The progress table lines for one history entry (plus a hint line for errors). */
export function formatProgressEvent(h: JobHistory): string {
  const ev = h.Event ?? { Message: '', Topic: '' }
  const isError = ev.Details?.IsError === 'true'
  const time = formatClock(toDate(h.Time || ev.Timestamp))
  const exec = h.ExecutionID ? shortId(h.ExecutionID) : ''
  let text = eventRow(time, exec, ev.Topic ?? '', isError ? `Error: ${ev.Message}` : ev.Message)
  const hint = ev.Details?.Hint
  if (isError && hint) text += eventRow('', '', '', `Hint: ${hint}`)
  return text
}

export const progressHeader = () => eventRow('TIME', 'EXEC. ID', 'TOPIC', 'EVENT')

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve()
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })

type StopReason = 'done' | 'timeout' | 'cancelled'

/** Ctrl+C or the timeout end the wait without touching the job. */
function waitSignal(timeoutMs: number): {
  signal: AbortSignal
  reason: () => StopReason
  dispose: () => void
} {
  const ac = new AbortController()
  let why: StopReason = 'done'
  const onSig = () => {
    why = 'cancelled'
    ac.abort()
  }
  const timer = setTimeout(() => {
    why = 'timeout'
    ac.abort()
  }, timeoutMs)
  process.once('SIGINT', onSig)
  return {
    signal: ac.signal,
    reason: () => why,
    dispose: () => {
      clearTimeout(timer)
      process.removeListener('SIGINT', onSig)
    },
  }
}

/**
 * Polls the history endpoint (page size 10, following next_token) until the server
 * stops returning a token, i.e. the job is terminal. Calls `onEvent` per entry.
 */
export async function followHistory(
  client: ApiClient,
  jobId: string,
  opts: { namespace?: string; pollIntervalMs?: number; signal?: AbortSignal },
  onEvent: (h: JobHistory) => void,
): Promise<boolean> {
  let token: string | undefined
  const pageSize = 10
  for (;;) {
    if (opts.signal?.aborted) return false
    const page = await client.jobHistory(jobId, {
      namespace: opts.namespace,
      limit: pageSize,
      nextToken: token,
    })
    for (const h of page.Items ?? []) onEvent(h)
    if (!page.NextToken) return true
    token = page.NextToken
    if ((page.Items?.length ?? 0) < pageSize) await sleep(opts.pollIntervalMs ?? 100, opts.signal)
  }
}

function printFooter(ctx: CliContext, job: Job | undefined, jobId: string): void {
  let text = `\nTo get more details about the run, execute:\n\tbacalhau job describe ${jobId}\n`
  text += `\nTo get more details about the run executions, execute:\n\tbacalhau job executions ${jobId}\n`
  if (job?.Tasks?.some((t) => t.Publisher?.Type))
    text += `\nTo download the results, execute:\n\tbacalhau job get ${jobId}\n`
  ctx.out(text)
}

async function printNodeDetails(ctx: CliContext, client: ApiClient, jobId: string, namespace?: string) {
  const execs = await client.jobExecutions(jobId, { namespace })
  let text = '\nJob Results By Node:\n'
  for (const e of execs.Items ?? []) {
    text += `• Node ${shortId(e.NodeID)}:\n`
    const out = e.RunOutput
    if (out?.Stdout) text += `\tStdout:\n\t\t${out.Stdout.trimEnd().split('\n').join('\n\t\t')}\n`
    if (out?.stderr) text += `\tStderr:\n\t\t${out.stderr.trimEnd().split('\n').join('\n\t\t')}\n`
    if (out?.ErrorMsg) text += `\tError: ${out.ErrorMsg}\n`
    if (!out?.Stdout && !out?.stderr && !out?.ErrorMsg) text += '\tNo output\n'
  }
  ctx.out(text)
}

async function streamLogsWhenReady(
  ctx: CliContext,
  client: ApiClient,
  jobId: string,
  namespace: string | undefined,
  signal: AbortSignal,
): Promise<void> {
  // Logs exist only once an execution does: wait up to ~10 s while the job is Pending.
  for (let i = 0; i < 100 && !signal.aborted; i++) {
    const { Job: job } = await client.getJob(jobId, { namespace })
    if (job.State?.StateType !== 'Pending') break
    await sleep(100, signal)
  }
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      for await (const entry of client.logs(jobId, { namespace, follow: true }, signal)) ctx.out(entry.Line)
      return
    } catch (e) {
      const { Job: job } = await client.getJob(jobId, { namespace })
      const terminal = ['Completed', 'Failed', 'Stopped'].includes(job.State?.StateType)
      if (terminal || attempt >= 50) {
        if (terminal && job.State?.StateType !== 'Completed') return
        throw e
      }
      await sleep(200, signal)
    }
  }
}

/** Prints the submission outcome and, with --wait, follows the job to its end. */
export async function afterSubmit(
  ctx: CliContext,
  client: ApiClient,
  resp: SubmitJobResponse,
  s: RunSettings,
): Promise<void> {
  const jobId = resp.JobID
  if (!s.hideWarnings) printWarnings(ctx, resp.Warnings)
  if (!s.wait) {
    ctx.out(`${jobId}\n`)
    return
  }
  if (s.idOnly) ctx.out(`${jobId}\n`)
  else ctx.out(`Job successfully submitted. Job ID: ${jobId}\n`)

  const w = waitSignal(s.waitTimeoutMs)
  let finished: boolean
  try {
    if (s.follow) {
      if (!s.idOnly)
        ctx.out('Waiting for logs... (Enter Ctrl+C to exit at any time, your job will continue running):\n\n')
      await streamLogsWhenReady(ctx, client, jobId, s.namespace, w.signal)
      finished = !w.signal.aborted
    } else if (s.idOnly) {
      finished = await followHistory(
        client,
        jobId,
        { namespace: s.namespace, pollIntervalMs: s.pollIntervalMs, signal: w.signal },
        () => {},
      )
    } else {
      ctx.out(
        'Checking job status... (Enter Ctrl+C to exit at any time, your job will continue running):\n\n',
      )
      const spinner = new Spinner('Waiting for events...')
      ctx.out(progressHeader())
      let first = true
      try {
        finished = await followHistory(
          client,
          jobId,
          { namespace: s.namespace, pollIntervalMs: s.pollIntervalMs, signal: w.signal },
          (h) => {
            const isError = h.Event?.Details?.IsError === 'true'
            // Bacalhau shows the first event, then execution-level events and job errors.
            if (first || h.Type === 'ExecutionLevel' || isError) ctx.out(formatProgressEvent(h))
            first = false
          },
        )
      } finally {
        spinner.stop()
      }
    }
  } finally {
    w.dispose()
  }

  if (!finished) {
    const why = w.reason()
    if (why === 'timeout')
      ctx.warn(
        `Progress tracking timed out after ${formatDuration(s.waitTimeoutMs)}. The job is still running.`,
      )
    else ctx.warn('Progress tracking canceled. The job is still running.')
    if (!s.idOnly) printFooter(ctx, undefined, jobId)
    return
  }

  const { Job: job } = await client.getJob(jobId, { namespace: s.namespace })
  const failed = job.State?.StateType === 'Failed'
  if (failed) ctx.err(`${s.idOnly ? '' : '\n'}Error: job failed\n`)
  if (!s.idOnly) {
    if (s.nodeDetails) await printNodeDetails(ctx, client, jobId, s.namespace)
    printFooter(ctx, job, jobId)
  }
  if (failed) throw new ExitCode(1)
}

/**
 * The tail shared by the job-building commands (`docker run`, `wasm run`): --dry-run
 * prints the job without contacting a server; otherwise it is submitted and followed.
 */
export async function submitBuiltJob(
  ctx: CliContext,
  job: Record<string, unknown>,
  o: RunTimeFlagValues & { namespace?: string; force?: boolean; hideWarnings?: boolean },
): Promise<void> {
  if (o.dryRun) {
    ctx.out(toYaml(job))
    return
  }
  const client = ctx.client()
  const resp = await client.putJob(job, !!o.force)
  await afterSubmit(ctx, client, resp, {
    wait: o.wait,
    idOnly: !!o.idOnly,
    follow: !!o.follow,
    waitTimeoutMs: o.waitTimeoutSecs * 1000,
    nodeDetails: o.nodeDetails,
    hideWarnings: o.hideWarnings,
    namespace: o.namespace,
  })
}
