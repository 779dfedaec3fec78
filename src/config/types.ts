// The node configuration: Bacalhau's key tree (bacalhau-behaviour.md §2.3), the part this
// project implements, with its defaults. Durations are Go duration strings ("30s").
import os from 'node:os'
import path from 'node:path'

export interface JobDefaultsTask {
  Resources: { CPU: string; Memory: string; Disk: string; GPU: string }
  Publisher: { Type: string; Params: Record<string, unknown> }
  Timeouts: { TotalTimeout: string; ExecutionTimeout: string }
}
export interface JobTypeDefaults {
  Priority: number
  Task: JobDefaultsTask
}

export interface Config {
  DataDir: string
  NameProvider: string
  Labels: Record<string, string>
  DisableAnalytics: boolean
  API: { Host: string; Port: number }
  Orchestrator: {
    Enabled: boolean
    /** Where orchestrators accept compute nodes (our libp2p listener; Bacalhau's NATS port). */
    Host: string
    Port: number
    Auth: { Token: string }
    NodeManager: { DisconnectTimeout: string; ManualApproval: boolean }
    Scheduler: {
      WorkerCount: number
      QueueBackoff: string
      HousekeepingInterval: string
      HousekeepingTimeout: string
    }
  }
  Compute: {
    Enabled: boolean
    Orchestrators: string[]
    Auth: { Token: string }
    Heartbeat: { Interval: string; InfoUpdateInterval: string }
    AllocatedCapacity: { CPU: string; Memory: string; Disk: string; GPU: string }
    AllowListedLocalPaths: string[]
    Env: { AllowList: string[] }
  }
  JobDefaults: {
    Batch: JobTypeDefaults
    Ops: JobTypeDefaults
    Service: JobTypeDefaults
    Daemon: JobTypeDefaults
  }
  JobAdmissionControl: {
    Locality: string
    RejectStatelessJobs: boolean
    RejectNetworkedJobs: boolean
    AcceptNetworkedJobs: boolean
    ProbeHTTP: string
    ProbeExec: string
  }
  InputSources: { Disabled: string[]; ReadTimeout: string; MaxRetryCount: number }
  Publishers: { Disabled: string[]; Types: { Local: { Address: string; Port: number } } }
  Engines: { Disabled: string[] }
  Logging: { Level: string; Mode: string }
  WebUI: { Enabled: boolean; Listen: string }
  /** This project's own keys. */
  Store: { Type: 'sqlite' | 'memory' }
}

const taskDefaults = (): JobDefaultsTask => ({
  Resources: { CPU: '500m', Memory: '512Mb', Disk: '', GPU: '' },
  Publisher: { Type: '', Params: {} },
  Timeouts: { TotalTimeout: '0s', ExecutionTimeout: '0s' },
})

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.BACALHAU_DIR || env.BACALHAU_DATADIR
  return path.resolve(fromEnv || path.join(os.homedir(), '.bacalhau'))
}

export function defaultConfig(): Config {
  return {
    DataDir: path.join(os.homedir(), '.bacalhau'),
    NameProvider: 'puuid',
    Labels: {},
    DisableAnalytics: false,
    API: { Host: '0.0.0.0', Port: 1234 },
    Orchestrator: {
      Enabled: false,
      Host: '0.0.0.0',
      Port: 4222,
      Auth: { Token: '' },
      NodeManager: { DisconnectTimeout: '1m', ManualApproval: false },
      Scheduler: {
        WorkerCount: os.cpus().length,
        QueueBackoff: '1m',
        HousekeepingInterval: '30s',
        HousekeepingTimeout: '2m',
      },
    },
    Compute: {
      Enabled: false,
      Orchestrators: ['nats://127.0.0.1:4222'],
      Auth: { Token: '' },
      Heartbeat: { Interval: '15s', InfoUpdateInterval: '1m' },
      AllocatedCapacity: { CPU: '80%', Memory: '80%', Disk: '80%', GPU: '100%' },
      AllowListedLocalPaths: [],
      Env: { AllowList: [] },
    },
    JobDefaults: {
      Batch: { Priority: 0, Task: taskDefaults() },
      Ops: { Priority: 0, Task: taskDefaults() },
      Service: { Priority: 0, Task: taskDefaults() },
      Daemon: { Priority: 0, Task: taskDefaults() },
    },
    JobAdmissionControl: {
      Locality: 'anywhere',
      RejectStatelessJobs: false,
      RejectNetworkedJobs: false,
      AcceptNetworkedJobs: false,
      ProbeHTTP: '',
      ProbeExec: '',
    },
    InputSources: { Disabled: [], ReadTimeout: '5m', MaxRetryCount: 3 },
    Publishers: { Disabled: [], Types: { Local: { Address: '127.0.0.1', Port: 6001 } } },
    Engines: { Disabled: [] },
    Logging: { Level: 'info', Mode: 'default' },
    WebUI: { Enabled: false, Listen: '0.0.0.0:8438' },
    Store: { Type: 'sqlite' },
  }
}

/** Parses a Go duration ("1m30s", "500ms", "2h") into milliseconds; a bare number is seconds. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return value * 1000
  const v = value.trim()
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000
  const unitMs: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1000,
    m: 60000,
    h: 3600000,
  }
  let total = 0
  let rest = v
  const re = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/
  if (!rest) throw new Error(`invalid duration: '${value}'`)
  while (rest) {
    const m = re.exec(rest)
    if (!m) throw new Error(`invalid duration: '${value}'`)
    total += Number(m[1]) * unitMs[m[2]]
    rest = rest.slice(m[0].length)
  }
  return total
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0s'
  const h = Math.floor(ms / 3600000)
  const m = Math.floor((ms % 3600000) / 60000)
  const s = (ms % 60000) / 1000
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`
}
