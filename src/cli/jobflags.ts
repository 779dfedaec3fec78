// The flag groups shared by the job-building commands (bacalhau-behaviour.md §1.4) and
// the job they describe.
import { Option, type Command } from 'commander'
import { parseSelector } from '../models/labels.js'
import { NetworkType } from '../models/enums.js'
import type { InputSource, SpecConfig } from '../models/job.js'
import { parseBytes, parseCpu, parseGpu } from '../models/resources.js'
import { CliError } from './errors.js'
import {
  collect,
  intArg,
  parseEnvVars,
  parseInputSource,
  parseLabels,
  parsePublisher,
  parseResultPath,
  splitCommaValues,
} from './flags.js'

export interface JobFlagValues {
  name: string
  namespace: string
  priority: number
  count: number
  concurrency?: number
  target: 'any' | 'all'
  constraints: string
  selector?: string
  labels?: string[]
  taskName: string
  input?: string[]
  output?: string[]
  publisher?: string
  env?: string[]
  cpu?: string
  memory?: string
  disk?: string
  gpu?: string
  network: string
  domain?: string[]
  timeout: number
  queueTimeout: number
}

export interface RunTimeFlagValues {
  wait: boolean
  waitTimeoutSecs: number
  idOnly?: boolean
  nodeDetails?: boolean
  follow?: boolean
  dryRun?: boolean
}

export function addJobFlags(cmd: Command): Command {
  return cmd
    .option('--name <name>', 'job name (empty: the server uses the job ID)', '')
    .option('--namespace <namespace>', 'job namespace', 'default')
    .option('--priority <n>', 'job priority (0: the server default)', intArg(), 0)
    .option('--count <n>', 'number of executions to run', intArg({ min: 0 }), 1)
    .addOption(
      new Option('--concurrency <n>', 'deprecated: use --count')
        .argParser(intArg({ min: 0 }))
        .hideHelp()
        .conflicts('count'),
    )
    .addOption(
      new Option('--target <target>', 'any: run on one node (batch); all: on every matching node (ops)')
        .choices(['any', 'all'])
        .default('any'),
    )
    .option('--constraints <selector>', 'node label selector, e.g. "region=eu,gpu!=none"', '')
    .addOption(
      new Option('-s, --selector <selector>', 'deprecated: use --constraints')
        .hideHelp()
        .conflicts('constraints'),
    )
    .option('-l, --labels <labels>', 'job labels, k=v or k (repeatable, comma lists)', collect)
}

const networkNames = new Map(Object.values(NetworkType).map((n) => [n.toLowerCase(), n]))

export function addTaskFlags(cmd: Command): Command {
  return cmd
    .option('--task-name <name>', 'task name', 'main')
    .option(
      '-i, --input <input>',
      'input source, e.g. ipfs://CID:/inputs, https://host/f, s3://bucket/key, file:///path, src=URI,dst=PATH,opt=k=v (repeatable)',
      collect,
    )
    .option('-o, --output <NAME:PATH>', 'output to publish, e.g. outputs:/outputs (repeatable)', collect)
    .option(
      '-p, --publisher <publisher>',
      'where results go: local, ipfs, s3://bucket/key[,opt=region=..], s3managed',
    )
    .option('-e, --env <KEY=VALUE>', 'task environment variable (repeatable, comma lists)', collect)
    .option('--cpu <cpu>', 'CPU request, e.g. 500m, 2')
    .option('--memory <memory>', 'memory request, e.g. 512Mb, 2Gi')
    .option('--disk <disk>', 'disk request, e.g. 10Gb')
    .option('--gpu <count>', 'number of GPUs')
    .addOption(
      new Option('--network <type>', 'network: Default, None, Host, Full, HTTP or Bridge')
        .default('Default')
        .argParser((v: string) => {
          const n = networkNames.get(v.trim().toLowerCase())
          if (!n)
            throw new CliError(
              `invalid value "${v}" for --network: use one of ${[...networkNames.values()].join(', ')}`,
            )
          return n
        }),
    )
    .option('--domain <domain>', 'domain reachable with --network=HTTP (repeatable)', collect)
    .option('--timeout <seconds>', 'total job timeout in seconds (0: none)', intArg({ min: 0 }), 0)
    .option(
      '--queue-timeout <seconds>',
      'how long the job may wait for nodes, in seconds',
      intArg({ min: 0 }),
      0,
    )
}

export function addRunTimeFlags(cmd: Command): Command {
  return cmd
    .option('--wait', 'wait for the job to finish, showing progress (--wait=false to return at once)', true)
    .addOption(new Option('--no-wait').hideHelp())
    .option(
      '--wait-timeout-secs <seconds>',
      'stop following progress after this many seconds',
      intArg({ min: 1 }),
      600,
    )
    .option('--id-only', 'print only the job ID')
    .option('--node-details', 'print per-node results after completion')
    .option('-f, --follow', 'stream the job logs instead of progress events')
    .addOption(new Option('--group-events').hideHelp())
    .option('--dry-run', 'print the job as YAML instead of submitting it')
}

function checkQuantity(
  flag: string,
  value: string | undefined,
  parse: (v: string) => unknown,
): string | undefined {
  if (value === undefined || value === '') return undefined
  try {
    parse(value)
  } catch (e) {
    throw new CliError(`invalid value "${value}" for ${flag}: ${(e as Error).message}`)
  }
  return value
}

function wrap<T>(flag: string, f: () => T): T {
  try {
    return f()
  } catch (e) {
    if (e instanceof CliError) throw e
    throw new CliError(`${flag}: ${(e as Error).message}`)
  }
}

/** Builds the job (canonical keys, empty parts left out) from the shared flags. */
export function buildJob(
  o: JobFlagValues,
  engine: SpecConfig,
  extraInputs: InputSource[] = [],
): Record<string, unknown> {
  const inputs = wrap('--input', () => (o.input ?? []).map((v) => parseInputSource(v)))
  const outputs = wrap('--output', () => splitCommaValues(o.output).map(parseResultPath))
  const publisher =
    o.publisher !== undefined ? wrap('--publisher', () => parsePublisher(o.publisher!)) : undefined
  const env = wrap('--env', () => parseEnvVars(o.env))
  const labels = wrap('--labels', () => parseLabels(o.labels))
  const selectorText = o.selector ?? o.constraints
  const constraints = wrap(o.selector !== undefined ? '--selector' : '--constraints', () =>
    parseSelector(selectorText ?? ''),
  )

  const resources: Record<string, string> = {}
  const cpu = checkQuantity('--cpu', o.cpu, parseCpu)
  const memory = checkQuantity('--memory', o.memory, (v) => parseBytes(v, 'memory'))
  const disk = checkQuantity('--disk', o.disk, (v) => parseBytes(v, 'disk'))
  const gpu = checkQuantity('--gpu', o.gpu, parseGpu)
  if (cpu) resources.CPU = cpu
  if (memory) resources.Memory = memory
  if (disk) resources.Disk = disk
  if (gpu) resources.GPU = gpu

  const domains = o.domain ?? []
  let network: Record<string, unknown> | undefined
  if (o.network !== 'Default') network = { Type: o.network }
  if (domains.length) {
    if (o.network !== 'HTTP') throw new CliError('--domain can only be used with --network=HTTP')
    network = { Type: 'HTTP', Domains: domains }
  }

  const timeouts: Record<string, number> = {}
  if (o.timeout > 0) timeouts.TotalTimeout = o.timeout
  if (o.queueTimeout > 0) timeouts.QueueTimeout = o.queueTimeout

  const task: Record<string, unknown> = { Name: o.taskName || 'main', Engine: engine }
  if (publisher) task.Publisher = publisher
  if (Object.keys(env).length) task.Env = env
  const allInputs = [...extraInputs, ...inputs]
  if (allInputs.length) task.InputSources = allInputs
  if (outputs.length) task.ResultPaths = outputs
  if (Object.keys(resources).length) task.Resources = resources
  if (network) task.Network = network
  if (Object.keys(timeouts).length) task.Timeouts = timeouts

  const type = o.target === 'all' ? 'ops' : 'batch'
  const job: Record<string, unknown> = {}
  if (o.name) job.Name = o.name
  job.Namespace = o.namespace || 'default'
  job.Type = type
  if (o.priority) job.Priority = o.priority
  const count = o.concurrency ?? o.count
  // Ops jobs run on every matching node; Count is meaningless there unless given.
  job.Count = type === 'ops' && count === 1 ? 0 : count
  if (constraints.length) job.Constraints = constraints
  if (Object.keys(labels).length) job.Labels = labels
  job.Tasks = [task]
  return job
}
