// `bacalhau job run|validate|describe|list|executions|history|logs|stop|get`
// (bacalhau-behaviour.md §1.9, §1.13, §5).
import fs from 'node:fs'
import { Command, Option } from 'commander'
import { desiredStateName, executionStateName, ExecutionStateType } from '../models/enums.js'
import type { Execution, JobHistory } from '../models/execution.js'
import type { Job } from '../models/job.js'
import {
  addDocumentFlags,
  addListFlags,
  addOutputFlags,
  listOutput,
  readStdin,
  resolveExecutionId,
  type ListFlagValues,
  type OutputFlagValues,
} from './common.js'
import { CliContext } from './context.js'
import { getJobResults } from './download.js'
import { CliError, ExitCode, formatError } from './errors.js'
import { collect, durationArg, intArg } from './flags.js'
import { checkJob, cleanJob, JOB_SPEC_DOCS, parseJobSpec } from './jobfile.js'
import { addRunTimeFlags, type RunTimeFlagValues } from './jobflags.js'
import {
  formatClock,
  formatDateTime,
  formatElapsed,
  formatKeyValues,
  formatList,
  formatObject,
  formatTable,
  formatTimeOfDay,
  shortId,
  toDate,
} from './output.js'
import { printWarnings, Spinner, submitBuiltJob } from './progress.js'
import { renderTemplate, templateVars } from './template.js'

const terminalStates = new Set(['Completed', 'Failed', 'Stopped'])

async function readSpec(
  file: string | undefined,
  ctx: CliContext,
): Promise<{ text: string; source: string }> {
  if (file === undefined || file === '-') {
    ctx.err('Reading from /dev/stdin; send Ctrl-d to stop.\n')
    return { text: await readStdin(), source: 'stdin' }
  }
  try {
    return { text: fs.readFileSync(file, 'utf8'), source: file }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new CliError(
      `${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`,
    )
  }
}

const engineType = (job: Job) => job.Tasks?.[0]?.Engine?.Type ?? ''

function executionRows(execs: Execution[], wide: boolean, now = Date.now()): string[][] {
  return execs.map((e) => {
    const created = toDate(e.CreateTime)
    const modified = toDate(e.ModifyTime)
    return [
      wide ? formatDateTime(created) : formatElapsed(created, now),
      wide ? formatDateTime(modified) : formatElapsed(modified, now),
      wide ? e.ID : shortId(e.ID),
      String(e.JobVersion ?? ''),
      wide ? e.NodeID : shortId(e.NodeID),
      String(e.Revision ?? ''),
      executionStateName(e.ComputeState?.StateType ?? 0),
      desiredStateName(e.DesiredState?.StateType ?? 0),
    ]
  })
}

function eventText(h: JobHistory): string {
  const ev = h.Event
  if (!ev) return ''
  return ev.Details?.IsError === 'true' ? `Error: ${ev.Message}` : ev.Message
}

const nanosOf = (v: unknown): bigint => {
  if (typeof v === 'bigint') return v
  if (typeof v === 'number') return BigInt(Math.trunc(v))
  return 0n
}

/** The human `job describe` layout (§1.13). */
export function formatJobDescription(
  job: Job,
  history: JobHistory[],
  executions: Execution[],
  now = Date.now(),
): string {
  const state = job.State?.StateType ?? ''
  let out = formatKeyValues([
    ['ID', job.ID],
    ['Name', job.Name],
    ['Namespace', job.Namespace],
    ['Type', job.Type],
    ['State', state],
    ['Message', job.State?.Message],
    ['Count', job.Type === 'batch' || job.Type === 'service' ? job.Count : undefined],
    ['Created Time', formatDateTime(toDate(job.CreateTime))],
    ['Modified Time', formatDateTime(toDate(job.ModifyTime))],
    ['Version', job.Version],
  ])

  // Bacalhau never counts Cancelled here (an off-by-one); we do.
  const summaryStates = [
    ExecutionStateType.New,
    ExecutionStateType.AskForBid,
    ExecutionStateType.AskForBidAccepted,
    ExecutionStateType.AskForBidRejected,
    ExecutionStateType.BidAccepted,
    ExecutionStateType.Running,
    ExecutionStateType.Publishing,
    ExecutionStateType.BidRejected,
    ExecutionStateType.Completed,
    ExecutionStateType.Failed,
    ExecutionStateType.Cancelled,
  ]
  const counts = summaryStates
    .map(
      (s) =>
        [executionStateName(s), executions.filter((e) => e.ComputeState?.StateType === s).length] as const,
    )
    .filter(([, n]) => n > 0)
  if (counts.length) out += '\nSummary\n' + formatKeyValues(counts.map(([k, n]) => [k, n]))

  const jobEvents = history.filter((h) => h.Type !== 'ExecutionLevel')
  if (jobEvents.length) {
    out +=
      '\nJob History\n' +
      formatTable(
        ['Time', 'Topic', 'Event'],
        jobEvents.map((h) => [formatDateTime(toDate(h.Time)), h.Event?.Topic ?? '', eventText(h)]),
      )
  }

  const sorted = [...executions].sort((a, b) => {
    const d = nanosOf(b.CreateTime) - nanosOf(a.CreateTime)
    return d > 0n ? 1 : d < 0n ? -1 : 0
  })
  if (sorted.length) {
    out +=
      '\nExecutions\n' +
      formatTable(
        ['ID', 'Node ID', 'State', 'Desired', 'Rev.', 'Created', 'Modified', 'Comment'],
        sorted.map((e) => [
          shortId(e.ID),
          shortId(e.NodeID),
          executionStateName(e.ComputeState?.StateType ?? 0),
          desiredStateName(e.DesiredState?.StateType ?? 0),
          String(e.Revision ?? ''),
          formatElapsed(toDate(e.CreateTime), now),
          formatElapsed(toDate(e.ModifyTime), now),
          e.ComputeState?.Message ?? '',
        ]),
      )
    for (const e of sorted) {
      const events = history.filter((h) => h.Type === 'ExecutionLevel' && h.ExecutionID === e.ID)
      if (!events.length) continue
      out +=
        `\nExecution ${shortId(e.ID)} History\n` +
        formatTable(
          ['Time', 'Topic', 'Event'],
          events.map((h) => [formatDateTime(toDate(h.Time)), h.Event?.Topic ?? '', eventText(h)]),
        )
    }
  }

  const outputs: [string, string][] = []
  for (const e of sorted) {
    const r = e.RunOutput
    if (!r) continue
    let stdout = r.Stdout ?? ''
    if (r.StdoutTruncated) stdout += '...\nOutput truncated'
    let stderr = r.stderr ?? ''
    if (r.StderrTruncated) stderr += '...\nOutput truncated'
    const text = stdout && stderr ? `${stdout}\n${stderr}` : stdout + stderr
    if (text) outputs.push([e.ID, text])
  }
  if (outputs.length) {
    out += '\nStandard Output\n'
    if (outputs.length === 1) out += outputs[0][1].endsWith('\n') ? outputs[0][1] : `${outputs[0][1]}\n`
    else
      for (const [id, text] of outputs)
        out += `Execution ${shortId(id)}:\n${text.endsWith('\n') ? text : `${text}\n`}`
  }
  return out
}

function nextPageHint(command: string, limit: number, token: string): string {
  return `\nTo fetch more records use:\n\t${command} --limit ${limit} --next-token ${token}\n`
}

export function registerJob(program: Command): void {
  const job = program.command('job').description('Commands to submit, query and manage jobs')

  const run = job
    .command('run')
    .description('Run a job from a YAML or JSON spec file (or stdin)')
    .argument('[file]', 'job spec file; - or nothing for stdin')
    .option('--force', 'submit even if the job spec did not change')
    .option('--hide-warnings', 'do not print warnings')
    .option('--no-template', 'do not apply {{.var}} templating to the spec')
    .option('-V, --template-vars <key=value>', 'template variable (repeatable, comma lists)', collect)
    .option(
      '-E, --template-envs <regex>',
      'environment variables matching this regex become template variables ("*": all)',
      collect,
    )
  addRunTimeFlags(run)
  run.action(
    async (
      file: string | undefined,
      o: RunTimeFlagValues & {
        force?: boolean
        hideWarnings?: boolean
        template: boolean
        templateVars?: string[]
        templateEnvs?: string[]
      },
      cmd: Command,
    ) => {
      const ctx = new CliContext(cmd)
      const input = await readSpec(file, ctx)
      const source = input.source
      let text = input.text
      if (o.template) {
        try {
          text = renderTemplate(text, templateVars(o.templateVars, o.templateEnvs), source)
        } catch (e) {
          throw new CliError(`${source}: ${(e as Error).message}`, { hint: (e as { hint?: string }).hint })
        }
      }
      const parsed = parseJobSpec(text, source)
      if (!o.hideWarnings) printWarnings(ctx, parsed.warnings)
      checkJob(parsed.job, source)
      await submitBuiltJob(ctx, cleanJob(parsed.job), { ...o, namespace: parsed.job.Namespace || undefined })
    },
  )

  job
    .command('validate')
    .description('Validate a job spec file locally; prints OK')
    .argument('<file>', 'job spec file (YAML or JSON), or - for stdin')
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const ctx = new CliContext(cmd)
      try {
        const { text, source } = await readSpec(file, ctx)
        const parsed = parseJobSpec(text, source)
        printWarnings(ctx, parsed.warnings)
        checkJob(parsed.job)
      } catch (e) {
        ctx.err(formatError(new Error((e as Error).message)))
        ctx.err(`Job Specification: ${JOB_SPEC_DOCS}\n`)
        throw new ExitCode(1)
      }
      ctx.out('OK\n')
    })

  const describe = job
    .command('describe')
    .description('Show a job, its executions, history and output')
    .argument('<id>', 'job ID, short ID or name')
    .option('--namespace <namespace>', 'namespace of the job (for names)')
    .option('-v, --version <n>', 'job version (0: latest)', intArg({ min: 0 }), 0)
  addDocumentFlags(describe)
  describe.action(
    async (
      id: string,
      o: { namespace?: string; version: number; output?: 'json' | 'yaml'; pretty?: boolean },
      cmd: Command,
    ) => {
      const ctx = new CliContext(cmd)
      const resp = await ctx
        .client()
        .getJob(id, { namespace: o.namespace, include: ['history', 'executions'], jobVersion: o.version })
      if (o.output) {
        ctx.out(formatObject(resp, o.output, o.pretty))
        return
      }
      ctx.out(formatJobDescription(resp.Job, resp.History?.Items ?? [], resp.Executions?.Items ?? []))
    },
  )

  const list = job
    .command('list')
    .description('List jobs')
    .option('--labels <selector>', 'filter jobs by label selector, e.g. "env=prod,tier!=web"')
    .option('--namespace <namespace>', 'namespace (empty: all namespaces)')
  addListFlags(list, 10, ['created_at', 'modified_at'])
  addOutputFlags(list)
  list.action(
    async (o: ListFlagValues & OutputFlagValues & { labels?: string; namespace?: string }, cmd: Command) => {
      const ctx = new CliContext(cmd)
      const page = await ctx.client().listJobs({
        namespace: o.namespace,
        limit: o.limit,
        nextToken: o.nextToken,
        orderBy: o.orderBy,
        reverse: o.orderReversed,
        labels: o.labels ? [o.labels] : undefined,
      })
      const jobs = page.Items ?? []
      const rows = jobs.map((j) => {
        const created = toDate(j.CreateTime)
        return [
          o.wide ? formatDateTime(created) : formatTimeOfDay(created),
          o.wide ? j.ID : shortId(j.ID),
          j.Name,
          engineType(j),
          j.Type,
          j.State?.StateType ?? '',
        ]
      })
      ctx.out(
        formatList(
          ['Created', 'ID', 'Name', 'Job', 'Type', 'State'],
          rows,
          jobs,
          listOutput(o, ctx.stdoutIsTTY),
        ),
      )
      if (page.NextToken && o.output === 'table')
        ctx.out(nextPageHint('bacalhau job list', o.limit, page.NextToken))
    },
  )

  const executions = job
    .command('executions')
    .description('List the executions of a job')
    .argument('<id>', 'job ID, short ID or name')
    .option('--namespace <namespace>', 'namespace of the job (for names)')
    .option('-v, --version <n>', 'job version (0: latest)', intArg({ min: 0 }), 0)
    .option('--all-versions', 'include executions of every job version')
  addListFlags(executions, 20, ['modified_at', 'created_at'])
  addOutputFlags(executions)
  executions.action(
    async (
      id: string,
      o: ListFlagValues & OutputFlagValues & { namespace?: string; version: number; allVersions?: boolean },
      cmd: Command,
    ) => {
      const ctx = new CliContext(cmd)
      const page = await ctx.client().jobExecutions(id, {
        namespace: o.namespace,
        limit: o.limit,
        orderBy: o.orderBy,
        reverse: o.orderReversed,
        jobVersion: o.version,
        allJobVersions: o.allVersions,
      })
      const items = page.Items ?? []
      ctx.out(
        formatList(
          ['Created', 'Modified', 'ID', 'Job Version', 'Node ID', 'Rev.', 'State', 'Desired'],
          executionRows(items, !!o.wide),
          items,
          listOutput(o, ctx.stdoutIsTTY),
        ),
      )
    },
  )

  const history = job
    .command('history')
    .description('List the history events of a job')
    .argument('<id>', 'job ID, short ID or name')
    .option('--namespace <namespace>', 'namespace of the job (for names)')
    .addOption(
      new Option('--event-type <type>', 'which events').choices(['all', 'job', 'execution']).default('all'),
    )
    .option('--execution-id <id>', 'only events of this execution')
    .option('-v, --version <n>', 'job version (0: latest)', intArg({ min: 0 }), 0)
    .option('--all-versions', 'include events of every job version')
  addListFlags(history, 100, [])
  addOutputFlags(history)
  history.action(
    async (
      id: string,
      o: ListFlagValues &
        OutputFlagValues & {
          namespace?: string
          eventType: 'all' | 'job' | 'execution'
          executionId?: string
          version: number
          allVersions?: boolean
        },
      cmd: Command,
    ) => {
      const ctx = new CliContext(cmd)
      const client = ctx.client()
      const executionId = await resolveExecutionId(client, id, o.executionId, o.namespace)
      const page = await client.jobHistory(id, {
        namespace: o.namespace,
        limit: o.limit,
        nextToken: o.nextToken,
        eventType: o.eventType,
        executionId,
        jobVersion: o.version,
        allJobVersions: o.allVersions,
      })
      const items = page.Items ?? []
      const rows = items.map((h) => {
        const t = toDate(h.Time)
        return [
          o.wide ? (h.Time ?? '') : formatClock(t),
          h.Type === 'ExecutionLevel' ? 'Execution' : 'Job',
          String(h.JobVersion ?? ''),
          o.wide ? (h.ExecutionID ?? '') : shortId(h.ExecutionID),
          h.Event?.Topic ?? '',
          eventText(h),
        ]
      })
      ctx.out(
        formatList(
          ['Time', 'Level', 'Job Version', 'Exec. ID', 'Topic', 'Event'],
          rows,
          items,
          listOutput(o, ctx.stdoutIsTTY),
        ),
      )
    },
  )

  job
    .command('logs')
    .description("Print an execution's output (stdout and stderr)")
    .argument('<id>', 'job ID, short ID or name')
    .option('--namespace <namespace>', 'namespace of the job (for names)')
    .option('-e, --execution-id <id>', 'execution to read (default: the latest one that did not fail)')
    .option('-f, --follow', 'keep streaming until the execution ends')
    .option('-t, --tail', 'only output produced from now on')
    .option('-v, --version <n>', 'job version (0: latest)', intArg({ min: 0 }), 0)
    .action(
      async (
        id: string,
        o: { namespace?: string; executionId?: string; follow?: boolean; tail?: boolean; version: number },
        cmd: Command,
      ) => {
        const ctx = new CliContext(cmd)
        const client = ctx.client()
        const executionId = await resolveExecutionId(client, id, o.executionId, o.namespace)
        const ac = new AbortController()
        const onSig = () => ac.abort()
        process.once('SIGINT', onSig)
        try {
          for await (const entry of client.logs(
            id,
            { namespace: o.namespace, executionId, follow: o.follow, tail: o.tail, jobVersion: o.version },
            ac.signal,
          ))
            ctx.out(entry.Line)
        } finally {
          process.removeListener('SIGINT', onSig)
        }
      },
    )

  job
    .command('stop')
    .description('Stop a job')
    .argument('<id>', 'job ID, short ID or name')
    .option('--namespace <namespace>', 'namespace of the job (for names)')
    .option('--quiet', 'print nothing on success')
    .action(async (id: string, o: { namespace?: string; quiet?: boolean }, cmd: Command) => {
      const ctx = new CliContext(cmd)
      const client = ctx.client()
      const spinner = o.quiet ? undefined : new Spinner('Checking job status')
      try {
        const { Job: current } = await client.getJob(id, { namespace: o.namespace })
        if (spinner) spinner.text = 'Verifying job state'
        const state = current.State?.StateType
        if (terminalStates.has(state))
          throw new CliError(`Job is already in a terminal state.\nThe current state is: ${state}`)
        if (spinner) spinner.text = 'Stopping job'
        const resp = await client.stopJob(current.ID, 'Stopped at user request', o.namespace)
        spinner?.stop()
        if (!o.quiet) ctx.out(`Job stop successfully submitted with evaluation ID: ${resp.EvaluationID}\n`)
      } finally {
        spinner?.stop()
      }
    })

  job
    .command('get')
    .description("Download a job's results")
    .argument('<id>', 'job ID, short ID or name')
    .option('--namespace <namespace>', 'namespace of the job (for names)')
    .option('--output-dir <dir>', 'where to write the results (default ./job-<id>)')
    .option('--raw', 'keep the downloaded archives as they are, without extracting or merging')
    .option(
      '--download-timeout-secs <duration>',
      'overall download timeout, e.g. 5m or 300',
      durationArg,
      300_000,
    )
    .action(
      async (
        id: string,
        o: { namespace?: string; outputDir?: string; raw?: boolean; downloadTimeoutSecs: number },
        cmd: Command,
      ) => {
        const ctx = new CliContext(cmd)
        await getJobResults(ctx, ctx.client(), id, {
          outputDir: o.outputDir,
          raw: o.raw,
          timeoutMs: o.downloadTimeoutSecs,
          namespace: o.namespace,
        })
      },
    )
}
