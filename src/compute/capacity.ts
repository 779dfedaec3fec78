// Capacity accounting (bacalhau-behaviour.md §3.9): totals of the host, the allocated
// share (Compute.AllocatedCapacity, percent or quantity), and what running executions use.
import fs from 'node:fs'
import os from 'node:os'
import type { ResourcesUsage } from '../models/execution.js'
import { addUsage, fitsIn, parseBytes, parseCpu, parseGpu, subtractUsage } from '../models/resources.js'

export function hostTotals(dataDir: string): ResourcesUsage {
  let disk = 0
  try {
    const s = fs.statfsSync(dataDir)
    disk = s.bavail * s.bsize
  } catch {
    disk = 0
  }
  return { CPU: os.cpus().length, Memory: os.totalmem(), Disk: disk, GPU: 0 }
}

function scale(
  value: string,
  total: number,
  parse: (v: string) => number,
  what: string,
  floorInt = false,
): number {
  const v = value.trim()
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(v)
  if (pct) {
    const p = Number(pct[1])
    if (p < 0 || p > 100)
      throw new Error(`Compute.AllocatedCapacity.${what}: percentage must be between 0 and 100: ${value}`)
    const n = (total * p) / 100
    return floorInt ? Math.floor(n) : n
  }
  try {
    return parse(v)
  } catch (e) {
    throw new Error(`Compute.AllocatedCapacity.${what}: ${(e as Error).message}`)
  }
}

/** The node's allocatable capacity from the configured share of the host totals. */
export function allocatedCapacity(
  totals: ResourcesUsage,
  cfg: { CPU: string; Memory: string; Disk: string; GPU: string },
): ResourcesUsage {
  const gpu = cfg.GPU ? scale(cfg.GPU, totals.GPU ?? 0, parseGpu, 'GPU', true) : 0
  return {
    CPU: cfg.CPU ? Math.round(scale(cfg.CPU, totals.CPU ?? 0, parseCpu, 'CPU') * 1000) / 1000 : 0,
    Memory: cfg.Memory
      ? Math.floor(scale(cfg.Memory, totals.Memory ?? 0, (v) => parseBytes(v, 'memory'), 'Memory'))
      : 0,
    Disk: cfg.Disk ? Math.floor(scale(cfg.Disk, totals.Disk ?? 0, (v) => parseBytes(v, 'disk'), 'Disk')) : 0,
    // A percentage of a present GPU never rounds down to none.
    GPU: gpu === 0 && (totals.GPU ?? 0) > 0 && /%$/.test(cfg.GPU) && parseFloat(cfg.GPU) > 0 ? 1 : gpu,
  }
}

/** Tracks what running executions hold so the node never over-commits. */
export class CapacityTracker {
  private used: ResourcesUsage = { CPU: 0, Memory: 0, Disk: 0, GPU: 0 }

  constructor(readonly max: ResourcesUsage) {}

  available(): ResourcesUsage {
    return subtractUsage(this.max, this.used)
  }

  /** Reserves the usage if it fits now; returns false (reserving nothing) otherwise. */
  tryReserve(usage: ResourcesUsage): boolean {
    if (!fitsIn(usage, this.available())) return false
    this.used = addUsage(this.used, usage)
    return true
  }

  release(usage: ResourcesUsage): void {
    this.used = subtractUsage(this.used, usage)
  }

  /** Could this usage ever run here? */
  fitsMax(usage: ResourcesUsage): boolean {
    return fitsIn(usage, this.max)
  }
}
