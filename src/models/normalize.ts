// Turns a decoded submission into a stored job: normalise, sanitise (with warnings),
// then apply orchestrator transforms and job-type defaults (bacalhau-api.md §1.6 #8).
import { randomUUID } from 'node:crypto'
import { parseDuration, type Config, type JobTypeDefaults } from '../config/types.js'
import { paramValue } from './ci.js'
import type { InputSource, Job, JobInput, Task } from './job.js'

export interface TransformContext {
  orchestratorId: string
  jobDefaults: Config['JobDefaults']
  clientInstallationId?: string
  clientInstanceId?: string
  serverInstallationId?: string
  serverInstanceId?: string
}

const RESERVED_META = 'bacalhau.org/'

function normalizeTask(t: Task): Task {
  const out: Task = { ...t, Name: t.Name.trim() }
  if (out.Engine) out.Engine = { ...out.Engine, Type: out.Engine.Type.trim() }
  if (out.Publisher) out.Publisher = { ...out.Publisher, Type: out.Publisher.Type.trim() }
  out.InputSources = (t.InputSources ?? []).map((s) => ({
    ...s,
    Alias: s.Alias.trim(),
    Target: s.Target.trim(),
    Source: s.Source ? { ...s.Source, Type: s.Source.Type.trim() } : s.Source,
  }))
  out.ResultPaths = (t.ResultPaths ?? []).map((r) => ({ Name: r.Name.trim(), Path: r.Path.trim() }))
  if (t.Resources) {
    const clean = (v?: string) => (v ? v.replace(/\s+/g, '').toLowerCase() : v)
    out.Resources = {
      CPU: clean(t.Resources.CPU),
      Memory: clean(t.Resources.Memory),
      Disk: clean(t.Resources.Disk),
      GPU: clean(t.Resources.GPU),
    }
  }
  out.Network = t.Network
    ? { ...t.Network, Domains: t.Network.Domains?.map((d) => d.trim().toLowerCase()) }
    : { Type: 'Default' }
  return out
}

function defaultsFor(cfg: Config['JobDefaults'], type: string): JobTypeDefaults {
  switch (type) {
    case 'ops':
      return cfg.Ops
    case 'service':
      return cfg.Service
    case 'daemon':
      return cfg.Daemon
    default:
      return cfg.Batch
  }
}

/** Converts the ≤v1.6 WASM params (InputSource objects) to the current path form. */
function convertLegacyWasm(task: Task): void {
  if (task.Engine?.Type.toLowerCase() !== 'wasm') return
  const params = { ...(task.Engine.Params ?? {}) }
  const entry = paramValue(params, 'EntryModule')
  const inputs = [...(task.InputSources ?? [])]
  const asInput = (v: unknown, fallbackTarget: string): string | undefined => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined
    const o = v as Record<string, unknown>
    const source = (paramValue(o, 'Source') ?? o) as Record<string, unknown>
    const target = String(paramValue(o, 'Target') ?? '') || fallbackTarget
    const type = String(paramValue(source, 'Type') ?? '')
    if (!type) return undefined
    const input: InputSource = {
      Source: { Type: type, Params: paramValue(source, 'Params') as Record<string, unknown> | undefined },
      Alias: String(paramValue(o, 'Alias') ?? ''),
      Target: target,
    }
    inputs.push(input)
    return target
  }
  let changed = false
  for (const k of Object.keys(params)) if (k.toLowerCase() === 'entrymodule') delete params[k]
  const entryPath = typeof entry === 'string' ? entry : asInput(entry, '/wasm/entry.wasm')
  if (entryPath !== undefined) params.EntryModule = entryPath
  if (typeof entry === 'object' && entry) changed = true
  const imports = paramValue(params, 'ImportModules')
  if (Array.isArray(imports) && imports.some((m) => m && typeof m === 'object')) {
    for (const k of Object.keys(params)) if (k.toLowerCase() === 'importmodules') delete params[k]
    params.ImportModules = imports.map((m, i) =>
      typeof m === 'string' ? m : (asInput(m, `/wasm/imports/module_${i}.wasm`) ?? ''),
    )
    changed = true
  }
  const legacyEntryPoint = Object.keys(params).find((k) => k === 'EntryPoint')
  if (legacyEntryPoint && paramValue(params, 'Entrypoint') === params.EntryPoint) {
    params.Entrypoint = params.EntryPoint
    delete params.EntryPoint
  }
  for (const k of Object.keys(params))
    if (k.toLowerCase() === 'environmentvariables' && changed) delete params[k]
  task.Engine = { ...task.Engine, Params: params }
  task.InputSources = inputs
}

export interface PreparedJob {
  job: Job
  warnings: string[]
}

/** Normalise, sanitise and transform a submitted job. Validation happens around it. */
export function prepareSubmittedJob(input: JobInput, ctx: TransformContext): PreparedJob {
  const warnings: string[] = []
  const type = input.Type.trim()
  if (input.State && input.State.StateType !== 'Undefined')
    warnings.push('job state is ignored when submitting a job')
  if (input.Revision) warnings.push('job revision is ignored when submitting a job')
  if (input.Version) warnings.push('job version is ignored when submitting a job')
  if (input.CreateTime) warnings.push('job create time is ignored when submitting a job')
  if (input.ModifyTime) warnings.push('job modify time is ignored when submitting a job')
  let id = input.ID.trim()
  if (id && (type === 'batch' || type === 'ops')) {
    warnings.push(`job ID is ignored when submitting a ${type} job`)
    id = ''
  }
  let tasks = input.Tasks ?? []
  if (tasks.length > 1) {
    warnings.push('only one task is supported per job')
    tasks = tasks.slice(0, 1)
  }
  const meta: Record<string, string> = {}
  for (const [k, v] of Object.entries(input.Meta ?? {})) {
    if (k.startsWith(RESERVED_META)) warnings.push(`job meta key "${k}" is reserved and will be ignored`)
    else meta[k] = v
  }
  if (ctx.clientInstallationId) meta['bacalhau.org/client.installation.id'] = ctx.clientInstallationId
  if (ctx.clientInstanceId) meta['bacalhau.org/client.instance.id'] = ctx.clientInstanceId
  if (!id) id = `j-${randomUUID()}`
  meta['bacalhau.org/requester.id'] = ctx.orchestratorId
  meta['bacalhau.org/orchestrator.id'] = ctx.orchestratorId
  if (ctx.serverInstallationId) meta['bacalhau.org/server.installation.id'] = ctx.serverInstallationId
  if (ctx.serverInstanceId) meta['bacalhau.org/server.instance.id'] = ctx.serverInstanceId

  let count = input.Count
  if (type === 'ops' || type === 'daemon') count = 0
  else if (count === undefined) count = 1

  const defaults = defaultsFor(ctx.jobDefaults, type)
  const normalizedTasks = tasks.map(normalizeTask).map((t) => {
    const r = t.Resources ?? {}
    const d = defaults.Task
    t.Resources = {
      CPU: r.CPU || d.Resources.CPU.toLowerCase() || undefined,
      Memory: r.Memory || d.Resources.Memory.toLowerCase() || undefined,
      Disk: r.Disk || d.Resources.Disk.toLowerCase() || undefined,
      GPU: r.GPU || d.Resources.GPU || undefined,
    }
    if (type === 'batch' || type === 'ops') {
      if (!t.Publisher?.Type && d.Publisher.Type)
        t.Publisher = { Type: d.Publisher.Type, Params: d.Publisher.Params }
      const to = { ...(t.Timeouts ?? {}) }
      const total = parseDuration(d.Timeouts.TotalTimeout) / 1000
      const exec = parseDuration(d.Timeouts.ExecutionTimeout) / 1000
      if (!(to.TotalTimeout && to.TotalTimeout > 0) && total > 0) to.TotalTimeout = total
      if (!(to.ExecutionTimeout && to.ExecutionTimeout > 0) && exec > 0) to.ExecutionTimeout = exec
      t.Timeouts = to
    }
    t.Timeouts = t.Timeouts ?? {}
    if (!t.Publisher) t.Publisher = { Type: '' }
    convertLegacyWasm(t)
    return t
  })

  const job: Job = {
    ID: id,
    Name: input.Name.trim() || id,
    Namespace: input.Namespace.trim() || 'default',
    Type: type,
    Priority: input.Priority || defaults.Priority,
    Count: count,
    Constraints: input.Constraints ?? [],
    Meta: meta,
    Labels: input.Labels ?? {},
    Tasks: normalizedTasks,
    State: { StateType: 'Pending' },
    Version: 1,
    Revision: 1,
    CreateTime: 0n,
    ModifyTime: 0n,
  }
  return { job, warnings }
}
