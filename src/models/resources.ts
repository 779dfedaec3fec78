// Resource quantity parsing: Kubernetes-style CPU, humanised bytes for memory and
// disk, integer GPU counts (bacalhau-behaviour.md §2.2).
import type { ResourcesUsage } from './execution.js'
import type { ResourcesConfig } from './job.js'

const cpuPattern = /^(\d+(?:\.\d*)?|\.\d+)(m|k)?$/

/** Parses a CPU quantity ("500m", "0.5", "2") into cores; throws on bad input. */
export function parseCpu(value: string): number {
  const v = value.replace(/\s+/g, '').toLowerCase()
  const m = cpuPattern.exec(v)
  if (!m) throw new Error(`invalid CPU value: ${value}`)
  const n = Number(m[1])
  return m[2] === 'm' ? n / 1000 : m[2] === 'k' ? n * 1000 : n
}

const byteUnits: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  p: 1e15,
  pb: 1e15,
  ki: 1024,
  kib: 1024,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
  pi: 1024 ** 5,
  pib: 1024 ** 5,
}

/** Parses a byte quantity ("512Mb" = 512e6, "1Gi" = 2^30); throws on bad input. */
export function parseBytes(value: string, what = 'memory'): number {
  const v = value.replace(/\s+/g, '').toLowerCase()
  const m = /^(\d+(?:\.\d*)?|\.\d+)([a-z]*)$/.exec(v)
  const unit = m ? byteUnits[m[2]] : undefined
  if (!m || unit === undefined) throw new Error(`invalid ${what} value: ${value}`)
  return Math.round(Number(m[1]) * unit)
}

export function parseGpu(value: string): number {
  const v = value.trim()
  if (!/^\d+$/.test(v)) throw new Error(`invalid GPU value: ${value}`)
  return Number(v)
}

/** Parses a task's requested resources into numbers; empty fields stay unset. */
export function parseResourcesConfig(r: ResourcesConfig | undefined): ResourcesUsage {
  const out: ResourcesUsage = {}
  if (!r) return out
  if (r.CPU) out.CPU = parseCpu(r.CPU)
  if (r.Memory) out.Memory = parseBytes(r.Memory, 'memory')
  if (r.Disk) out.Disk = parseBytes(r.Disk, 'disk')
  if (r.GPU) out.GPU = parseGpu(r.GPU)
  return out
}

/** Checks resource strings; returns one message per bad field. */
export function resourceErrors(r: ResourcesConfig | undefined): string[] {
  const errors: string[] = []
  if (!r) return errors
  const check = (f: () => unknown) => {
    try {
      f()
    } catch (e) {
      errors.push((e as Error).message)
    }
  }
  if (r.CPU) check(() => parseCpu(r.CPU!))
  if (r.Memory) check(() => parseBytes(r.Memory!, 'memory'))
  if (r.Disk) check(() => parseBytes(r.Disk!, 'disk'))
  if (r.GPU) check(() => parseGpu(r.GPU!))
  return errors
}

export const addUsage = (a: ResourcesUsage, b: ResourcesUsage): ResourcesUsage => ({
  CPU: (a.CPU ?? 0) + (b.CPU ?? 0),
  Memory: (a.Memory ?? 0) + (b.Memory ?? 0),
  Disk: (a.Disk ?? 0) + (b.Disk ?? 0),
  GPU: (a.GPU ?? 0) + (b.GPU ?? 0),
})

export const subtractUsage = (a: ResourcesUsage, b: ResourcesUsage): ResourcesUsage => ({
  CPU: Math.max(0, round6((a.CPU ?? 0) - (b.CPU ?? 0))),
  Memory: Math.max(0, (a.Memory ?? 0) - (b.Memory ?? 0)),
  Disk: Math.max(0, (a.Disk ?? 0) - (b.Disk ?? 0)),
  GPU: Math.max(0, (a.GPU ?? 0) - (b.GPU ?? 0)),
})

const round6 = (n: number) => Math.round(n * 1e6) / 1e6

/** True when every requested quantity fits in the available one. */
export function fitsIn(req: ResourcesUsage, avail: ResourcesUsage): boolean {
  return (
    (req.CPU ?? 0) <= (avail.CPU ?? 0) + 1e-9 &&
    (req.Memory ?? 0) <= (avail.Memory ?? 0) &&
    (req.Disk ?? 0) <= (avail.Disk ?? 0) &&
    (req.GPU ?? 0) <= (avail.GPU ?? 0)
  )
}

/** Lists the quantities of `req` that exceed `avail`, for rejection messages. */
export function describeShortfall(req: ResourcesUsage, avail: ResourcesUsage): string {
  const parts: string[] = []
  if ((req.CPU ?? 0) > (avail.CPU ?? 0) + 1e-9)
    parts.push(`CPU requested ${req.CPU}, available ${avail.CPU ?? 0}`)
  if ((req.Memory ?? 0) > (avail.Memory ?? 0))
    parts.push(`memory requested ${req.Memory}, available ${avail.Memory ?? 0}`)
  if ((req.Disk ?? 0) > (avail.Disk ?? 0))
    parts.push(`disk requested ${req.Disk}, available ${avail.Disk ?? 0}`)
  if ((req.GPU ?? 0) > (avail.GPU ?? 0)) parts.push(`GPU requested ${req.GPU}, available ${avail.GPU ?? 0}`)
  return parts.join('; ')
}

/** Formats bytes the way Bacalhau's tables do ("6.4 GB"). */
export function humanBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB']
  let i = 0
  let v = n
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`
}
