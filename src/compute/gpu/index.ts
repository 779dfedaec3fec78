// GPU inventory: detection, parsing of vendor tool output, node labels, allocation.
export type { GpuInfo, GpuVendor } from './types.js'
export { normalizePciAddress } from './pci.js'
export { parseNvidiaSmi, NVIDIA_SMI_COMMAND, NVIDIA_SMI_ARGS } from './nvidia.js'
export { parseRocmSmi, ROCM_SMI_COMMAND, ROCM_SMI_ARGS } from './amd.js'
export {
  parseXpuSmiDiscovery,
  parseXpuSmiDiscoveryRecords,
  parseXpuSmiDevice,
  XPU_SMI_COMMAND,
  XPU_SMI_LIST_ARGS,
  xpuSmiDeviceArgs,
} from './intel.js'
export {
  detectGpus,
  findOnPath,
  makeDefaultRun,
  GPU_TOOL_TIMEOUT_MS,
  type DetectGpusOptions,
  type GpuLogger,
  type RunFn,
  type RunResult,
} from './detect.js'
export { gpuLabels } from './labels.js'
export { allocatedGpuCount, selectGpus } from './allocate.js'
