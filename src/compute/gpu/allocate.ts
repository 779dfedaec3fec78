// How many of the host's GPUs a compute node offers (Compute.AllocatedCapacity.GPU,
// bacalhau-behaviour.md §2.2) and which ones it advertises as MaxCapacity.GPUs.
import type { GpuInfo } from './types.js'

const WHAT = 'Compute.AllocatedCapacity.GPU'

/**
 * The GPU count a node offers for `setting` ("100%", "50%", "2", "0") out of `total` detected.
 *
 * Percent: total × p / 100 rounded down, but never below 1 when a GPU exists and p > 0, so
 * "50%" of one GPU is that GPU. (Bacalhau's ResourceScaler also lifts "0%" to 1 when a GPU
 * exists; we read "0%" as the operator's "none", as the lead's capacity.ts already does.)
 * Count: used as given but capped at `total`. Bacalhau does not cap and pads MaxCapacity.GPUs
 * with empty GPU objects, which lets the node accept GPU jobs that can only fail at run time.
 * Empty: 0, as for the other resources when no default is configured.
 */
export function allocatedGpuCount(setting: string, total: number): number {
  if (!Number.isSafeInteger(total) || total < 0)
    throw new Error(`${WHAT}: detected GPU total must be a non-negative integer, got ${total}`)
  const v = setting.trim()
  if (v === '') return 0
  const pct = /^(\d+(?:\.\d*)?|\.\d+)%$/.exec(v)
  if (pct) {
    const p = Number(pct[1])
    if (p > 100) throw new Error(`${WHAT}: percentage must be between 0% and 100%, got ${setting}`)
    // total * p first: p / 100 is inexact in binary and would floor 57% of 100 to 56.
    const n = Math.floor((total * p) / 100)
    return n === 0 && total > 0 && p > 0 ? 1 : n
  }
  if (!/^\d+$/.test(v)) throw new Error(`${WHAT}: invalid GPU value ${JSON.stringify(setting)}`)
  return Math.min(Number(v), total)
}

/** The GPUs the node advertises: the first `count` in detection order (as Bacalhau selects). */
export function selectGpus(gpus: readonly GpuInfo[], count: number): GpuInfo[] {
  return gpus.slice(0, Math.max(0, Math.floor(count)))
}
