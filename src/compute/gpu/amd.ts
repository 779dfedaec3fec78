// rocm-smi inventory (bacalhau-behaviour.md §3.9).
//
// `rocm-smi --showproductname --showbus --showmeminfo vram --json` prints one object keyed by
// "card<N>" (N = rocm-smi's device index), every value a string:
//   {"card0": {"PCI Bus": "0000:E7:00.0", "VRAM Total Memory (B)": "68702699520",
//              "VRAM Total Used Memory (B)": "10960896", "Card series": "Instinct MI210", …}}
// Key spelling changed between releases: ROCm 5.x "Card series"/"Card model", ROCm 6.x
// "Card Series"/"Card Model", so keys are matched case-insensitively. Newer releases may add a
// non-card "system" entry, and stdout may start with warning lines (see parseJsonOutput).
// Bacalhau's own query lacks --showbus; we add it because the PCI address is what AMD device
// mapping needs (§4.2).
import type { GpuInfo } from './types.js'
import { normalizePciAddress } from './pci.js'
import { BYTES_PER_MIB, excerpt, isRecord, parseJsonOutput, readCount } from './parse-util.js'

const TOOL = 'rocm-smi'

export const ROCM_SMI_COMMAND = 'rocm-smi'
export const ROCM_SMI_ARGS: readonly string[] = [
  '--showproductname',
  '--showbus',
  '--showmeminfo',
  'vram',
  '--json',
]

/** Case-insensitive field lookup; rocm-smi has changed key capitalisation across releases. */
function field(rec: Record<string, unknown>, ...names: string[]): unknown {
  for (const name of names) {
    const want = name.toLowerCase()
    const key = Object.keys(rec).find((k) => k.trim().toLowerCase() === want)
    if (key !== undefined && rec[key] !== '' && rec[key] !== null) return rec[key]
  }
  return undefined
}

/** Parses rocm-smi's JSON inventory; throws `rocm-smi: …` on anything that is not that. */
export function parseRocmSmi(stdout: string): GpuInfo[] {
  // rocm-smi's answer when it found nothing to put in the JSON (e.g. no card reports any of
  // the requested fields); it is a statement that there is nothing, not a failure to parse.
  if (!/^\s*[{[]/m.test(stdout) && /No JSON data to report/i.test(stdout)) return []
  const doc = parseJsonOutput(stdout, TOOL)
  if (!isRecord(doc))
    throw new Error(`${TOOL}: expected a JSON object keyed by card, got ${excerpt(JSON.stringify(doc))}`)
  const gpus: GpuInfo[] = []
  for (const [key, rec] of Object.entries(doc)) {
    const m = /^card(\d+)$/i.exec(key.trim())
    if (!m) continue // "system" and any other non-device sections
    if (!isRecord(rec))
      throw new Error(`${TOOL}: ${key}: expected an object, got ${excerpt(JSON.stringify(rec))}`)
    const name = field(rec, 'Card Series', 'Card Model')
    if (name !== undefined && typeof name !== 'string')
      throw new Error(`${TOOL}: ${key}: invalid Card Series ${JSON.stringify(name)}`)
    const bytes = readCount(field(rec, 'VRAM Total Memory (B)'), `${TOOL}: ${key}`, 'VRAM Total Memory (B)')
    const bus = field(rec, 'PCI Bus')
    if (bus !== undefined && typeof bus !== 'string')
      throw new Error(`${TOOL}: ${key}: invalid PCI Bus ${JSON.stringify(bus)}`)
    gpus.push({
      Index: Number(m[1]),
      Name: (name ?? '').trim(),
      Vendor: 'AMD/ATI',
      Memory: Math.floor((bytes ?? 0) / BYTES_PER_MIB),
      PCIAddress: normalizePciAddress(bus ?? '', `${TOOL}: ${key}`),
    })
  }
  // Object key order is the tool's print order; device order is what callers expect.
  return gpus.sort((a, b) => a.Index - b.Index)
}
