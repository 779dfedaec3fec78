// nvidia-smi inventory (bacalhau-behaviour.md §3.9).
//
// Output of `nvidia-smi --query-gpu=index,gpu_name,memory.total,pci.bus_id
// --format=csv,noheader,nounits` is one row per GPU, fields separated by ", ":
//   0, NVIDIA H100 80GB HBM3, 81559, 00000000:19:00.0
// Bacalhau reads it with Go's encoding/csv (TrimLeadingSpace), so quoted fields are legal; we
// accept them too. Rows with 3 fields (Bacalhau's older query without pci.bus_id) are accepted
// with an empty PCIAddress.
import type { GpuInfo } from './types.js'
import { normalizePciAddress } from './pci.js'
import { excerpt, isNotAvailable } from './parse-util.js'

const TOOL = 'nvidia-smi'

export const NVIDIA_SMI_COMMAND = 'nvidia-smi'
export const NVIDIA_SMI_ARGS: readonly string[] = [
  '--query-gpu=index,gpu_name,memory.total,pci.bus_id',
  '--format=csv,noheader,nounits',
]

/** Splits one CSV record the way Go's csv.Reader does with TrimLeadingSpace set. */
function splitCsvLine(line: string, lineNo: number): string[] {
  const fields: string[] = []
  let i = 0
  for (;;) {
    while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++
    let field = ''
    if (line[i] === '"') {
      i++
      for (;;) {
        if (i >= line.length) throw new Error(`${TOOL}: line ${lineNo}: unterminated quoted field`)
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"'
            i += 2
            continue
          }
          i++
          break
        }
        field += line[i++]
      }
      while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++
      if (i < line.length && line[i] !== ',')
        throw new Error(`${TOOL}: line ${lineNo}: unexpected text after quoted field`)
    } else {
      const end = line.indexOf(',', i)
      field = end < 0 ? line.slice(i) : line.slice(i, end)
      i = end < 0 ? line.length : end
    }
    fields.push(field.trim())
    if (i >= line.length) return fields
    i++ // the comma
  }
}

/** Memory comes back as plain MiB with `nounits`; tolerate a stray " MiB" if units slipped in. */
function parseMemory(v: string, lineNo: number): number {
  // Unified-memory parts (DGX Spark / GB10) report "[N/A]" for memory.total: keep the GPU,
  // with its memory unknown, rather than lose the whole NVIDIA inventory as Bacalhau does.
  if (isNotAvailable(v)) return 0
  const m = /^(\d+)(?:\s*MiB)?$/i.exec(v)
  if (!m) throw new Error(`${TOOL}: line ${lineNo}: invalid memory.total ${JSON.stringify(v)}`)
  return Number(m[1])
}

/** Parses nvidia-smi's CSV inventory; throws `nvidia-smi: …` on anything that is not that. */
export function parseNvidiaSmi(stdout: string): GpuInfo[] {
  const gpus: GpuInfo[] = []
  const lines = stdout.split(/\r?\n/)
  lines.forEach((raw, n) => {
    const lineNo = n + 1
    if (raw.trim() === '') return
    const f = splitCsvLine(raw, lineNo)
    if (f.length !== 3 && f.length !== 4)
      throw new Error(`${TOOL}: line ${lineNo}: expected 4 fields, got ${f.length}: ${excerpt(raw)}`)
    const [index, name, memory, bus = ''] = f
    if (!/^\d+$/.test(index))
      throw new Error(`${TOOL}: line ${lineNo}: invalid index ${JSON.stringify(index)}: ${excerpt(raw)}`)
    if (name === '') throw new Error(`${TOOL}: line ${lineNo}: empty GPU name`)
    gpus.push({
      Index: Number(index),
      Name: name,
      Vendor: 'NVIDIA',
      Memory: parseMemory(memory, lineNo),
      PCIAddress: normalizePciAddress(bus, `${TOOL}: line ${lineNo}`),
    })
  })
  return gpus
}
