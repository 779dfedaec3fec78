// xpu-smi inventory (bacalhau-behaviour.md §3.9).
//
// Intel needs two kinds of call, as in Bacalhau's intel.go (format per intel/xpumanager
// doc/smi_user_guide.md and Bacalhau's recorded xpu-smi outputs):
//   `xpu-smi discovery --json` lists devices, without memory:
//     {"device_list": [{"device_id": 0, "device_name": "…", "pci_bdf_address": "0000:4d:00.0", …}]}
//   `xpu-smi discovery --json --device <id>` describes one device, with memory as a byte string:
//     {"device_id": 0, "device_name": "…", "memory_physical_size_byte": "5314183168", …}
// On failure xpu-smi still prints JSON: {"error": "Level Zero Initialization Error", "errno": …}.
import type { GpuInfo } from './types.js'
import { normalizePciAddress } from './pci.js'
import { BYTES_PER_MIB, excerpt, isRecord, parseJsonOutput, readCount } from './parse-util.js'

const TOOL = 'xpu-smi'

export const XPU_SMI_COMMAND = 'xpu-smi'
export const XPU_SMI_LIST_ARGS: readonly string[] = ['discovery', '--json']
export const xpuSmiDeviceArgs = (deviceId: number): string[] => [
  'discovery',
  '--json',
  '--device',
  String(deviceId),
]

function checkError(doc: Record<string, unknown>): void {
  if (doc.error === undefined) return
  const errno = doc.errno !== undefined ? ` (errno ${JSON.stringify(doc.errno)})` : ''
  throw new Error(`${TOOL}: reported an error: ${String(doc.error)}${errno}`)
}

function toGpu(rec: Record<string, unknown>, where: string): GpuInfo {
  const id = readCount(rec.device_id, `${TOOL}: ${where}`, 'device_id')
  if (id === undefined) throw new Error(`${TOOL}: ${where}: missing device_id`)
  const name = rec.device_name ?? ''
  if (typeof name !== 'string')
    throw new Error(`${TOOL}: ${where}: invalid device_name ${JSON.stringify(name)}`)
  const bdf = rec.pci_bdf_address ?? ''
  if (typeof bdf !== 'string')
    throw new Error(`${TOOL}: ${where}: invalid pci_bdf_address ${JSON.stringify(bdf)}`)
  const bytes = readCount(rec.memory_physical_size_byte, `${TOOL}: ${where}`, 'memory_physical_size_byte')
  return {
    Index: id,
    Name: name.trim(),
    Vendor: 'Intel',
    Memory: Math.floor((bytes ?? 0) / BYTES_PER_MIB),
    PCIAddress: normalizePciAddress(bdf, `${TOOL}: ${where}`),
  }
}

/**
 * Parses `xpu-smi discovery --json`. Memory is 0 unless the listing carries
 * `memory_physical_size_byte` (it normally does not; see parseXpuSmiDevice).
 */
export function parseXpuSmiDiscovery(stdout: string): GpuInfo[] {
  return parseXpuSmiDiscoveryRecords(stdout).map((r) => r.gpu)
}

/** As parseXpuSmiDiscovery, also saying for each device whether the listing gave its memory. */
export function parseXpuSmiDiscoveryRecords(stdout: string): { gpu: GpuInfo; hasMemory: boolean }[] {
  const doc = parseJsonOutput(stdout, TOOL)
  if (!isRecord(doc)) throw new Error(`${TOOL}: expected a JSON object, got ${excerpt(JSON.stringify(doc))}`)
  checkError(doc)
  const list = doc.device_list
  if (!Array.isArray(list)) throw new Error(`${TOOL}: missing device_list in ${excerpt(JSON.stringify(doc))}`)
  return list.map((rec, i) => {
    if (!isRecord(rec)) throw new Error(`${TOOL}: device_list[${i}]: expected an object`)
    const gpu = toGpu(rec, `device_list[${i}]`)
    // toGpu has validated the field; a "N/A" marker counts as absent.
    const hasMemory =
      readCount(rec.memory_physical_size_byte, TOOL, 'memory_physical_size_byte') !== undefined
    return { gpu, hasMemory }
  })
}

/** Parses `xpu-smi discovery --json --device <id>`: one device, with its memory. */
export function parseXpuSmiDevice(stdout: string): GpuInfo {
  const doc = parseJsonOutput(stdout, TOOL)
  if (!isRecord(doc)) throw new Error(`${TOOL}: expected a JSON object, got ${excerpt(JSON.stringify(doc))}`)
  checkError(doc)
  const gpu = toGpu(doc, 'device')
  if (doc.memory_physical_size_byte === undefined)
    throw new Error(`${TOOL}: device ${gpu.Index}: missing memory_physical_size_byte`)
  return gpu
}
