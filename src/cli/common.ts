// Option groups and small helpers shared by the command files.
import { Option, type Command } from 'commander'
import type { ApiClient } from '../api/client.js'
import { CliError } from './errors.js'
import { intArg } from './flags.js'
import { listFormats, type ListOutputOptions, type OutputFormat } from './output.js'

export interface OutputFlagValues {
  output: OutputFormat
  pretty?: boolean
  hideHeader?: boolean
  /** false when --no-style was given. */
  style?: boolean
  wide?: boolean
}

/** --output/--pretty/--hide-header/--no-style/--wide for table commands. */
export function addOutputFlags(
  cmd: Command,
  formats: readonly string[] = listFormats,
  def = 'table',
): Command {
  return cmd
    .addOption(new Option('--output <format>', 'output format').choices([...formats]).default(def))
    .option('--pretty', 'indent JSON output')
    .option('--hide-header', 'do not print the table header')
    .option('--no-style', 'plain table without colours')
    .option('--wide', 'do not shorten IDs and times')
}

/** --output json|yaml (and --pretty) for describe-like commands. */
export function addDocumentFlags(cmd: Command, def?: 'json' | 'yaml', prettyDefault = false): Command {
  const o = new Option('--output <format>', 'output format').choices(['json', 'yaml'])
  if (def) o.default(def)
  cmd.addOption(o).option('--pretty', 'indent JSON output', prettyDefault)
  if (prettyDefault) cmd.addOption(new Option('--no-pretty').hideHelp())
  return cmd
}

export interface ListFlagValues {
  limit: number
  nextToken?: string
  orderBy?: string
  orderReversed?: boolean
}

export function addListFlags(cmd: Command, defaultLimit: number, orderBy: readonly string[]): Command {
  const o = new Option('--order-by <field>', `order by ${orderBy.join(' or ')}`)
  if (orderBy.length) o.choices([...orderBy])
  return cmd
    .option('--limit <n>', 'number of items to fetch', intArg({ min: 0 }), defaultLimit)
    .option('--next-token <token>', 'token of the next page, from a previous call')
    .addOption(o)
    .option('--order-reversed', 'reverse the order')
}

export function listOutput(o: OutputFlagValues, isTTY: boolean): ListOutputOptions {
  return { format: o.output, hideHeader: o.hideHeader, pretty: o.pretty, style: o.style !== false && isTTY }
}

const fullId = /^(?:[a-z]+-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * The server wants exact execution IDs for logs/history; expand a short one (`e-3a1f…`)
 * by looking it up among the job's executions.
 */
export async function resolveExecutionId(
  client: ApiClient,
  jobId: string,
  execId: string | undefined,
  namespace?: string,
): Promise<string | undefined> {
  if (!execId || fullId.test(execId)) return execId
  const execs = await client.jobExecutions(jobId, { namespace, allJobVersions: true })
  const matches = (execs.Items ?? []).filter((e) => e.ID.startsWith(execId))
  if (matches.length === 1) return matches[0].ID
  if (matches.length > 1)
    throw new CliError(`execution ID prefix "${execId}" is ambiguous`, {
      hint: 'use a longer execution ID prefix',
    })
  throw new CliError(`execution not found: ${execId}`)
}

/** Reads all of stdin. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
