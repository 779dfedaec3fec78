// The config keys this project supports (every leaf of Config), their types and
// descriptions, and the value parsing rules of bacalhau-behaviour.md §2.2. Used by
// loadConfig (files, env, -c Key=value), `config list|get|set`.
import { parseBytes, parseCpu, parseGpu } from '../models/resources.js'

export type ConfigKeyType = 'string' | 'int' | 'bool' | 'duration' | 'stringList' | 'map'

export interface ConfigKey {
  /** Canonical dotted path, e.g. `API.Port`. */
  key: string
  type: ConfigKeyType
  description: string
  /** Allowed values (matched case-insensitively, stored as written here). */
  values?: readonly string[]
  min?: number
  max?: number
  /** Map values may be any YAML value rather than strings (publisher params). */
  anyValues?: boolean
  /** Extra check on the parsed value; throws a message without the key name. */
  check?: (value: string) => void
}

const cpuOrPercent = (v: string) => {
  if (!v) return
  if (percent(v)) return
  parseCpu(v)
}
const bytesOrPercent = (v: string) => {
  if (!v) return
  if (percent(v)) return
  parseBytes(v)
}
const gpuOrPercent = (v: string) => {
  if (!v) return
  if (percent(v)) return
  parseGpu(v)
}
function percent(v: string): boolean {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v)
  if (!m) return false
  if (Number(m[1]) > 100) throw new Error(`percentage must be between 0 and 100, got ${v}`)
  return true
}
const cpu = (v: string) => void (v && parseCpu(v))
const bytes = (v: string) => void (v && parseBytes(v))
const gpu = (v: string) => void (v && parseGpu(v))
const hostPort = (v: string) => {
  if (!/^.*:\d{1,5}$/.test(v)) throw new Error(`expected host:port, got "${v}"`)
}

const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'panic'] as const

function jobDefaultKeys(type: 'Batch' | 'Ops' | 'Service' | 'Daemon'): ConfigKey[] {
  const p = `JobDefaults.${type}`
  const lower = type.toLowerCase()
  return [
    { key: `${p}.Priority`, type: 'int', description: `Default priority of ${lower} jobs.` },
    {
      key: `${p}.Task.Resources.CPU`,
      type: 'string',
      description: `Default CPU request of ${lower} tasks (e.g. 500m, 2).`,
      check: cpu,
    },
    {
      key: `${p}.Task.Resources.Memory`,
      type: 'string',
      description: `Default memory request of ${lower} tasks (e.g. 512Mb, 1Gi).`,
      check: bytes,
    },
    {
      key: `${p}.Task.Resources.Disk`,
      type: 'string',
      description: `Default disk request of ${lower} tasks (e.g. 10Gb).`,
      check: bytes,
    },
    {
      key: `${p}.Task.Resources.GPU`,
      type: 'string',
      description: `Default GPU count of ${lower} tasks.`,
      check: gpu,
    },
    {
      key: `${p}.Task.Publisher.Type`,
      type: 'string',
      description: `Publisher used by ${lower} tasks that set none (e.g. local, s3, ipfs).`,
    },
    {
      key: `${p}.Task.Publisher.Params`,
      type: 'map',
      anyValues: true,
      description: `Parameters of the default ${lower} publisher.`,
    },
    {
      key: `${p}.Task.Timeouts.TotalTimeout`,
      type: 'duration',
      description: `Default total timeout of ${lower} jobs (0 = none).`,
    },
    {
      key: `${p}.Task.Timeouts.ExecutionTimeout`,
      type: 'duration',
      description: `Default execution timeout of ${lower} jobs (0 = none).`,
    },
  ]
}

export const configKeys: readonly ConfigKey[] = [
  { key: 'DataDir', type: 'string', description: 'Data directory for the node and client state.' },
  {
    key: 'NameProvider',
    type: 'string',
    values: ['hostname', 'aws', 'gcp', 'uuid', 'puuid'],
    description: 'How the node ID is generated on first start.',
  },
  { key: 'Labels', type: 'map', description: 'Static node labels (k=v,k2=v2).' },
  { key: 'DisableAnalytics', type: 'bool', description: 'Opt out of telemetry (none is sent by this node).' },
  {
    key: 'API.Host',
    type: 'string',
    description: 'Host the API listens on (server) or connects to (client).',
  },
  { key: 'API.Port', type: 'int', min: 0, max: 65535, description: 'Port of the API.' },
  { key: 'Orchestrator.Enabled', type: 'bool', description: 'Run the orchestrator role.' },
  {
    key: 'Orchestrator.Host',
    type: 'string',
    description: 'Address the orchestrator accepts compute nodes on (libp2p).',
  },
  {
    key: 'Orchestrator.Port',
    type: 'int',
    min: 0,
    max: 65535,
    description: 'Port the orchestrator accepts compute nodes on (libp2p; 0 = any free port).',
  },
  {
    key: 'Orchestrator.Auth.Token',
    type: 'string',
    description: 'Network token: nodes without it cannot connect (generated on first start when empty).',
  },
  {
    key: 'Orchestrator.NodeManager.DisconnectTimeout',
    type: 'duration',
    description: 'A node without a heartbeat for this long is marked DISCONNECTED.',
  },
  {
    key: 'Orchestrator.NodeManager.ManualApproval',
    type: 'bool',
    description: 'New compute nodes join as PENDING until approved.',
  },
  {
    key: 'Orchestrator.Scheduler.WorkerCount',
    type: 'int',
    min: 1,
    description: 'Number of scheduler workers.',
  },
  {
    key: 'Orchestrator.Scheduler.QueueBackoff',
    type: 'duration',
    description: 'Delay before a queued job is evaluated again.',
  },
  {
    key: 'Orchestrator.Scheduler.HousekeepingInterval',
    type: 'duration',
    description: 'Period of the timeout sweep.',
  },
  {
    key: 'Orchestrator.Scheduler.HousekeepingTimeout',
    type: 'duration',
    description: 'Grace added to timeouts by the sweep.',
  },
  { key: 'Compute.Enabled', type: 'bool', description: 'Run the compute role.' },
  {
    key: 'Compute.Orchestrators',
    type: 'stringList',
    description: 'Orchestrators to join: host:port, nats://host:port or libp2p multiaddrs.',
  },
  { key: 'Compute.Auth.Token', type: 'string', description: "Network token; must match the orchestrator's." },
  { key: 'Compute.Heartbeat.Interval', type: 'duration', description: 'Heartbeat period of a compute node.' },
  {
    key: 'Compute.Heartbeat.InfoUpdateInterval',
    type: 'duration',
    description: 'Period of full node info updates.',
  },
  {
    key: 'Compute.AllocatedCapacity.CPU',
    type: 'string',
    description: 'CPU offered to jobs: cores (2, 500m) or a percentage of the host (80%).',
    check: cpuOrPercent,
  },
  {
    key: 'Compute.AllocatedCapacity.Memory',
    type: 'string',
    description: 'Memory offered to jobs: bytes (4Gb, 2Gi) or a percentage of the host.',
    check: bytesOrPercent,
  },
  {
    key: 'Compute.AllocatedCapacity.Disk',
    type: 'string',
    description: 'Disk offered to jobs: bytes or a percentage of the host.',
    check: bytesOrPercent,
  },
  {
    key: 'Compute.AllocatedCapacity.GPU',
    type: 'string',
    description: 'GPUs offered to jobs: a count or a percentage of the host GPUs.',
    check: gpuOrPercent,
  },
  {
    key: 'Compute.AllowListedLocalPaths',
    type: 'stringList',
    description: 'Host paths jobs may mount with file:// inputs (suffix :rw or :ro).',
  },
  {
    key: 'Compute.Env.AllowList',
    type: 'stringList',
    description: 'Host environment variables jobs may read through env:NAME values.',
  },
  ...jobDefaultKeys('Batch'),
  ...jobDefaultKeys('Ops'),
  ...jobDefaultKeys('Service'),
  ...jobDefaultKeys('Daemon'),
  {
    key: 'JobAdmissionControl.Locality',
    type: 'string',
    values: ['local', 'anywhere'],
    description: 'Accept only jobs whose inputs are local (local) or any job (anywhere).',
  },
  {
    key: 'JobAdmissionControl.RejectStatelessJobs',
    type: 'bool',
    description: 'Reject jobs that have no inputs.',
  },
  {
    key: 'JobAdmissionControl.RejectNetworkedJobs',
    type: 'bool',
    description: 'Reject jobs that ask for network access.',
  },
  {
    key: 'JobAdmissionControl.AcceptNetworkedJobs',
    type: 'bool',
    description: 'Accept jobs that ask for network access (v1.5 polarity).',
  },
  {
    key: 'JobAdmissionControl.ProbeHTTP',
    type: 'string',
    description: 'URL POSTed the job to decide whether to bid.',
  },
  {
    key: 'JobAdmissionControl.ProbeExec',
    type: 'string',
    description: 'Command given the job on stdin to decide whether to bid.',
  },
  {
    key: 'InputSources.Disabled',
    type: 'stringList',
    description: 'Input source types this node refuses (ipfs, urlDownload, s3, inline, local).',
  },
  { key: 'InputSources.ReadTimeout', type: 'duration', description: 'Timeout for fetching one input.' },
  { key: 'InputSources.MaxRetryCount', type: 'int', min: 0, description: 'Retries of a URL download.' },
  {
    key: 'Publishers.Disabled',
    type: 'stringList',
    description: 'Publisher types this node refuses (noop, ipfs, s3, local).',
  },
  {
    key: 'Publishers.Types.Local.Address',
    type: 'string',
    description: 'Address put in local publisher result URLs.',
  },
  {
    key: 'Publishers.Types.Local.Port',
    type: 'int',
    min: 0,
    max: 65535,
    description: 'Port of the local publisher HTTP server.',
  },
  {
    key: 'Engines.Disabled',
    type: 'stringList',
    description: 'Execution engines this node refuses (docker, wasm).',
  },
  { key: 'Logging.Level', type: 'string', values: logLevels, description: 'Log level.' },
  { key: 'Logging.Mode', type: 'string', values: ['default', 'json'], description: 'Log format.' },
  { key: 'WebUI.Enabled', type: 'bool', description: 'Serve the web UI.' },
  { key: 'WebUI.Listen', type: 'string', description: 'host:port the web UI listens on.', check: hostPort },
  {
    key: 'Store.Type',
    type: 'string',
    values: ['sqlite', 'memory'],
    description: 'State store: sqlite under the data dir, or memory (lost on exit).',
  },
]

const byLower = new Map(configKeys.map((k) => [k.key.toLowerCase(), k]))
const prefixes = new Set<string>()
for (const k of configKeys) {
  const parts = k.key.toLowerCase().split('.')
  for (let i = 1; i < parts.length; i++) prefixes.add(parts.slice(0, i).join('.'))
}

/** Finds a key case-insensitively. */
export function findConfigKey(name: string): ConfigKey | undefined {
  return byLower.get(name.trim().toLowerCase())
}

/** True when `path` names a section (e.g. `API`, `Compute.Heartbeat`) rather than a leaf. */
export function isConfigSection(path: string): boolean {
  return prefixes.has(path.toLowerCase())
}

// Keys of Bacalhau's tree that this node does not implement. A Bacalhau config file
// using them still loads (with a warning); setting them explicitly is an error.
const bacalhauOnlyPrefixes = [
  'strictversionmatch',
  'featureflags',
  'api.tls',
  'api.auth',
  'orchestrator.advertise',
  'orchestrator.tls',
  'orchestrator.cluster',
  'orchestrator.evaluationbroker',
  'orchestrator.supportreverseproxy',
  'compute.tls',
  'compute.heartbeat.resourceupdateinterval',
  'compute.network',
  'inputsources.types',
  'publishers.types.ipfs',
  'publishers.types.s3',
  'publishers.types.s3managed',
  'engines.types',
  'resultdownloaders',
  'webui.backend',
  'logging.logdebuginfointerval',
  'updateconfig',
]

/** True for keys Bacalhau knows but this project ignores. */
export function isUnsupportedBacalhauKey(path: string): boolean {
  const p = path.toLowerCase()
  return bacalhauOnlyPrefixes.some((b) => p === b || p.startsWith(b + '.'))
}

/** The `Error` for a key nobody knows, or one only Bacalhau knows. */
export function unknownKeyError(path: string): Error {
  if (isUnsupportedBacalhauKey(path))
    return new Error(`config key ${path} is a Bacalhau key that this node does not support`)
  return new Error(`unknown config key "${path}" (see \`bacalhau config list\`)`)
}

const goDuration = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/

export function parseBool(raw: string): boolean | undefined {
  switch (raw.trim()) {
    case '1':
    case 't':
    case 'T':
    case 'true':
    case 'TRUE':
    case 'True':
      return true
    case '0':
    case 'f':
    case 'F':
    case 'false':
    case 'FALSE':
    case 'False':
      return false
    default:
      return undefined
  }
}

function fail(k: ConfigKey, problem: string): Error {
  return new Error(`config key ${k.key}: ${problem}`)
}

function checkInt(k: ConfigKey, n: number, shown: string): number {
  if (!Number.isSafeInteger(n)) throw fail(k, `invalid integer "${shown}"`)
  if (k.min !== undefined && n < k.min) throw fail(k, `${n} is below the minimum ${k.min}`)
  if (k.max !== undefined && n > k.max) throw fail(k, `${n} is above the maximum ${k.max}`)
  return n
}

function checkString(k: ConfigKey, v: string): string {
  if (k.values) {
    const match = k.values.find((x) => x.toLowerCase() === v.trim().toLowerCase())
    if (!match) throw fail(k, `invalid value "${v}" (allowed: ${k.values.join(', ')})`)
    return match
  }
  if (k.check) {
    try {
      k.check(v)
    } catch (e) {
      throw fail(k, (e as Error).message)
    }
  }
  return v
}

function parseList(k: ConfigKey, raw: string): string[] {
  if (raw.trim() === '') return []
  const items = raw.split(',')
  for (const item of items) {
    if (item === '') throw fail(k, `empty item in list "${raw}"`)
    if (/[\s;]/.test(item)) throw fail(k, `list item "${item}" must not contain spaces or ';'`)
  }
  return items
}

function parseMap(k: ConfigKey, raw: string): Record<string, string> {
  const out: Record<string, string> = {}
  if (raw.trim() === '') return out
  for (const item of raw.split(',')) {
    const parts = item.split('=')
    if (parts.length !== 2 || !parts[0].trim())
      throw fail(k, `invalid map item "${item}" (expected key=value, one "=" per item)`)
    out[parts[0].trim()] = parts[1].trim()
  }
  return out
}

/**
 * Parses a textual value (env var, `-c Key=value`, `config set`) for a key.
 * Throws `config key <Key>: <problem>`.
 */
export function parseConfigValue(k: ConfigKey, raw: string): unknown {
  switch (k.type) {
    case 'bool': {
      const b = parseBool(raw)
      if (b === undefined) throw fail(k, `invalid boolean "${raw}"`)
      return b
    }
    case 'int': {
      if (!/^\s*[+-]?\d+\s*$/.test(raw)) throw fail(k, `invalid integer "${raw}"`)
      return checkInt(k, Number(raw), raw)
    }
    case 'duration': {
      const v = raw.trim()
      if (v !== '0' && !goDuration.test(v))
        throw fail(k, `invalid duration "${raw}" (use Go durations such as 30s, 1m, 2h45m, 100ms)`)
      return v === '0' ? '0s' : v
    }
    case 'stringList':
      return parseList(k, raw)
    case 'map':
      return parseMap(k, raw)
    default:
      return checkString(k, raw)
  }
}

const isScalar = (v: unknown): v is string | number | boolean =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'

/** Coerces a value read from a YAML config file (native YAML types, or strings). */
export function coerceFileValue(k: ConfigKey, value: unknown): unknown {
  const kind = Array.isArray(value)
    ? 'a list'
    : value === null
      ? 'null'
      : typeof value === 'object'
        ? 'a map'
        : ''
  switch (k.type) {
    case 'bool':
      if (typeof value === 'boolean') return value
      if (typeof value === 'string' || typeof value === 'number') return parseConfigValue(k, String(value))
      throw fail(k, `expected a boolean, got ${kind}`)
    case 'int':
      if (typeof value === 'number') return checkInt(k, value, String(value))
      if (typeof value === 'string') return parseConfigValue(k, value)
      throw fail(k, `expected an integer, got ${kind || typeof value}`)
    case 'duration':
      if (value === 0) return '0s'
      if (typeof value === 'number')
        throw fail(k, `invalid duration ${value} (write a unit, e.g. "${value}s")`)
      if (typeof value === 'string') return parseConfigValue(k, value)
      throw fail(k, `expected a duration, got ${kind || typeof value}`)
    case 'stringList':
      if (Array.isArray(value)) {
        return value.map((v) => {
          if (!isScalar(v)) throw fail(k, 'list items must be strings')
          return String(v)
        })
      }
      if (typeof value === 'string') return parseList(k, value)
      throw fail(k, `expected a list, got ${kind || typeof value}`)
    case 'map':
      if (typeof value === 'string') return parseMap(k, value)
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        if (k.anyValues) return { ...(value as Record<string, unknown>) }
        const out: Record<string, string> = {}
        for (const [mk, mv] of Object.entries(value as Record<string, unknown>)) {
          if (mv !== null && !isScalar(mv)) throw fail(k, `value of "${mk}" must be a string`)
          out[mk] = mv === null ? '' : String(mv)
        }
        return out
      }
      throw fail(k, `expected a map, got ${kind || typeof value}`)
    default:
      if (isScalar(value)) return checkString(k, String(value))
      throw fail(k, `expected a string, got ${kind || typeof value}`)
  }
}

/** Formats a value for `config list` / `config get` in the form `config set` accepts. */
export function formatConfigValue(k: ConfigKey | undefined, value: unknown): string {
  if (value === undefined || value === null) return ''
  if (Array.isArray(value)) return value.join(',')
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
    if (k?.anyValues) return entries.length ? JSON.stringify(value) : ''
    return entries.map(([mk, mv]) => `${mk}=${String(mv)}`).join(',')
  }
  return String(value)
}

/** Reads a leaf from a config-shaped object by canonical path. */
export function readPath(obj: unknown, key: string): unknown {
  let cur: unknown = obj
  for (const part of key.split('.')) {
    if (!cur || typeof cur !== 'object') return undefined
    cur = (cur as Record<string, unknown>)[part]
  }
  return cur
}

/** Writes a leaf into a config-shaped object by canonical path, creating sections. */
export function writePath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.')
  let cur = obj
  for (const part of parts.slice(0, -1)) {
    const next = cur[part]
    if (!next || typeof next !== 'object' || Array.isArray(next)) cur[part] = {}
    cur = cur[part] as Record<string, unknown>
  }
  cur[parts[parts.length - 1]] = value
}

/** Env var name for a key: BACALHAU_ + path with dots → underscores, upper-cased. */
export const envNameFor = (key: string) => 'BACALHAU_' + key.replace(/\./g, '_').toUpperCase()
