// Submission-time and store-time validation, with Bacalhau's messages (§7.2).
import { constraintErrors } from './labels.js'
import { resourceErrors } from './resources.js'
import { jobTypes } from './enums.js'
import type { Job, JobInput, Task } from './job.js'

const envName = /^[A-Za-z][A-Za-z0-9_]*$/
const portName = /^[A-Za-z_][A-Za-z0-9_]*$/
const domainPattern = /[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+/
const ipPattern = /^(\d{1,3}\.){3}\d{1,3}$|^[0-9a-f:]+$/i

function taskErrors(t: Task): string[] {
  const e: string[] = []
  if (!t.Name.trim()) e.push('missing task name')
  if (t.Name.includes('\0')) e.push('task name cannot contain null characters')
  for (const [k, v] of Object.entries(t.Env ?? {})) {
    if (!k) e.push('environment variable name cannot be empty')
    else if (k.toUpperCase() !== k) e.push(`environment variable '${k}' must be uppercase`)
    else if (!envName.test(k))
      e.push(
        `environment variable '${k}' must start with a letter and contain only letters, digits and underscores`,
      )
    else if (k.startsWith('BACALHAU_')) e.push(`environment variable '${k}' cannot start with BACALHAU_`)
    if (v === '') e.push(`environment variable '${k}' cannot have empty value`)
  }
  if (!t.Engine) e.push('invalid engine: nil spec config')
  else if (!t.Engine.Type.trim()) e.push('invalid engine: missing spec type')
  const to = t.Timeouts
  if (to) {
    if ((to.QueueTimeout ?? 0) < 0)
      e.push(`invalid timeouts: invalid queue timeout value: ${to.QueueTimeout}s`)
    if ((to.TotalTimeout ?? 0) < 0)
      e.push(`invalid timeouts: invalid total timeout value: ${to.TotalTimeout}s`)
    if ((to.ExecutionTimeout ?? 0) < 0)
      e.push(`invalid timeouts: invalid execution timeout value: ${to.ExecutionTimeout}s`)
  }
  for (const msg of resourceErrors(t.Resources)) e.push(`invalid resources: ${msg}`)
  const aliases = new Set<string>()
  const targets = new Set<string>()
  for (const src of t.InputSources ?? []) {
    if (!src.Target.trim()) e.push('invalid input sources: input source is missing a target')
    if (!src.Source || !src.Source.Type.trim()) e.push('invalid input source: missing spec type')
    if (src.Alias) {
      if (aliases.has(src.Alias)) e.push(`input source with alias '${src.Alias}' already exists`)
      aliases.add(src.Alias)
    }
    if (src.Target) {
      if (targets.has(src.Target)) e.push(`input source with target '${src.Target}' already exists`)
      targets.add(src.Target)
    }
  }
  const names = new Set<string>()
  const paths = new Set<string>()
  for (const rp of t.ResultPaths ?? []) {
    if (!rp.Path.trim()) e.push('invalid output: missing path')
    else if (!rp.Path.trim().startsWith('/')) e.push(`result path \`${rp.Path}\` must be absolute`)
    if (!rp.Name.trim()) e.push('invalid output: missing name')
    if (rp.Name && names.has(rp.Name)) e.push(`result path with name '${rp.Name}' already exists`)
    if (rp.Path && paths.has(rp.Path)) e.push(`result path '${rp.Path}' already exists`)
    names.add(rp.Name)
    paths.add(rp.Path)
  }
  const net = t.Network
  if (net) {
    if ((net.Domains?.length ?? 0) > 0 && net.Type !== 'HTTP')
      e.push('domains can only be set for HTTP network mode')
    for (const d of net.Domains ?? [])
      if (!domainPattern.test(d) && !ipPattern.test(d)) e.push(`invalid domain "${d}"`)
    const ports = net.Ports ?? []
    if (ports.length > 0 && !['Host', 'Full', 'Bridge'].includes(net.Type))
      e.push('ports can only be set for Host or Bridge network modes')
    const seen = new Set<string>()
    for (const p of ports) {
      if (!p.Name) e.push('port mapping name is required')
      else if (!portName.test(p.Name))
        e.push(`port mapping name '${p.Name}' must be a valid environment variable name`)
      else if (seen.has(p.Name)) e.push(`duplicate port mapping name '${p.Name}'`)
      seen.add(p.Name)
      const s = p.Static ?? 0
      if (s > 0 && s < 1024) e.push(`static port ${s} is in privileged port range (1-1023)`)
      if (s > 65535) e.push(`static port ${s} is above maximum valid port 65535`)
      if (p.Target !== undefined && (p.Target < 0 || p.Target > 65535))
        e.push(`invalid target port ${p.Target}`)
      if (net.Type === 'Host' && (p.Target ?? 0) !== 0)
        e.push('target ports cannot be set for Host network mode')
    }
  }
  return e.map((m) => `task ${t.Name} validation failed: ${m}`)
}

/** The checks Bacalhau runs on a job exactly as the client sent it. */
export function submissionErrors(job: JobInput | undefined | null): string[] {
  if (!job) return ['empty/nil job']
  const e: string[] = []
  const type = job.Type.trim()
  if (!type) e.push('missing job type')
  else if (!jobTypes.includes(type)) e.push(`invalid job type: "${type}"`)
  if ((job.Count ?? 0) < 0) e.push('job count must be >= 0')
  if ((type === 'ops' || type === 'daemon') && (job.Count ?? 0) > 1)
    e.push(`${type} jobs cannot specify count > 1 as they run on all matching nodes`)
  if (!job.Tasks || job.Tasks.length === 0) e.push('missing job tasks')
  ;(job.Constraints ?? []).forEach((c, i) => e.push(...constraintErrors(c, i)))
  for (const t of job.Tasks ?? []) e.push(...taskErrors(t))
  return e
}

/** The store-time checks, run after defaults are applied. */
export function storeErrors(job: Job): string[] {
  const e: string[] = []
  if (!job.ID.trim()) e.push('missing job ID')
  else if (/\s/.test(job.ID)) e.push('job ID contains a space')
  if (job.ID.includes('\0')) e.push('job ID contains a null character')
  if (!job.Name.trim()) e.push('missing job name')
  if (job.Name.includes('\0')) e.push('job Name contains a null character')
  if (!job.Namespace.trim()) e.push('job must be in a namespace')
  for (const t of job.Tasks) {
    if ((t.ResultPaths?.length ?? 0) > 0 && !t.Publisher?.Type)
      e.push('publisher must be set if result paths are set')
    const to = t.Timeouts ?? {}
    const total = to.TotalTimeout ?? 0
    if (total > 0 && (to.ExecutionTimeout ?? 0) + (to.QueueTimeout ?? 0) > total)
      e.push(
        `execution timeout ${to.ExecutionTimeout ?? 0}s and queue timeout ${to.QueueTimeout ?? 0}s should be less than total timeout ${total}s`,
      )
  }
  return e
}
