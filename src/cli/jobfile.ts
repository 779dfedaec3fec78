// Reading a job spec (YAML or JSON, keys matched case-insensitively like Go's decoder)
// and checking it the way the server will on submission.
import YAML from 'yaml'
import { yamlProblem } from '../config/load.js'
import { formatZodError } from '../models/ci.js'
import { JobSchema, type JobInput } from '../models/job.js'
import { parseJson, stringifyJson } from '../models/json.js'
import { submissionErrors } from '../models/validate.js'
import { CliError } from './errors.js'

export const JOB_SPEC_DOCS = 'https://docs.bacalhau.org/cli-api/specifications/job'

export interface ParsedJobSpec {
  job: JobInput
  /** Fields the decoder ignored (unknown keys), as Bacalhau's `job validate` reports. */
  warnings: string[]
}

function firstLine(msg: string): string {
  return msg.split('\n')[0].replace(/:$/, '')
}

/** Parses YAML or JSON text into a plain object; errors name the source and problem. */
export function parseSpecText(text: string, source: string): Record<string, unknown> {
  if (!text.trim()) throw new CliError(`${source}: the job spec is empty`)
  let data: unknown
  if (/^\s*[{[]/.test(text)) {
    try {
      data = parseJson(text)
    } catch (e) {
      throw new CliError(`${source}: invalid JSON: ${firstLine((e as Error).message)}`)
    }
  } else {
    const doc = YAML.parseDocument(text)
    if (doc.errors.length > 0) throw new CliError(`${source}: invalid YAML: ${yamlProblem(doc.errors[0])}`)
    data = doc.toJS()
  }
  if (!data || typeof data !== 'object' || Array.isArray(data))
    throw new CliError(`${source}: expected a job object at the top level`)
  return data as Record<string, unknown>
}

const jobKeys = new Set([
  'id',
  'name',
  'namespace',
  'type',
  'priority',
  'count',
  'constraints',
  'meta',
  'labels',
  'tasks',
  'state',
  'version',
  'revision',
  'createtime',
  'modifytime',
])
const taskKeys = new Set([
  'name',
  'engine',
  'publisher',
  'env',
  'meta',
  'inputsources',
  'resultpaths',
  'resources',
  'network',
  'timeouts',
])

function unknownKeyWarnings(data: Record<string, unknown>): string[] {
  const w: string[] = []
  for (const k of Object.keys(data))
    if (!jobKeys.has(k.toLowerCase())) w.push(`ignoring unknown field "${k}"`)
  const tasksKey = Object.keys(data).find((k) => k.toLowerCase() === 'tasks')
  const tasks = tasksKey ? data[tasksKey] : undefined
  if (Array.isArray(tasks))
    tasks.forEach((t, i) => {
      if (t && typeof t === 'object' && !Array.isArray(t))
        for (const k of Object.keys(t))
          if (!taskKeys.has(k.toLowerCase())) w.push(`ignoring unknown field "Tasks[${i}].${k}"`)
    })
  return w
}

/** Decodes a job spec (YAML/JSON text) into the job the server would read. */
export function parseJobSpec(text: string, source: string): ParsedJobSpec {
  let data = parseSpecText(text, source)
  // Accept the API's request envelope too ({"Job": {...}}).
  const keys = Object.keys(data)
  if (
    keys.length === 1 &&
    keys[0].toLowerCase() === 'job' &&
    data[keys[0]] &&
    typeof data[keys[0]] === 'object'
  )
    data = data[keys[0]] as Record<string, unknown>
  const parsed = JobSchema.safeParse(data)
  if (!parsed.success)
    throw new CliError(`${source}: invalid job spec: ${formatZodError(parsed.error).split('\n').join('; ')}`)
  return { job: parsed.data, warnings: unknownKeyWarnings(data) }
}

/** The server's submission checks, run locally; throws one error listing every problem. */
export function checkJob(job: JobInput, source?: string): void {
  const errs = submissionErrors(job)
  if (errs.length)
    throw new CliError(`${source ? `${source}: ` : ''}invalid job spec: ${errs.join('; ')}`, {
      hint: `see the job specification at ${JOB_SPEC_DOCS}`,
    })
}

/** A job without undefined fields, for printing and submitting. */
export function cleanJob<T>(value: T): T {
  return parseJson(stringifyJson(value)) as T
}
