// Node labels derived from the GPU inventory (bacalhau-api.md §2.10, bacalhau-behaviour.md §3.9),
// as Bacalhau's gpuLabelsProvider builds them: keyed by position in the node's GPU list (not by
// the tool's Index, which repeats across vendors), spaces in the model turned into dashes.
import type { GpuInfo } from './types.js'

/** `GPU-<i>` = model with spaces→dashes, `GPU-<i>-Memory` = `<MiB>-MiB`, e.g. `15360-MiB`. */
export function gpuLabels(gpus: readonly GpuInfo[]): Record<string, string> {
  const labels: Record<string, string> = {}
  gpus.forEach((gpu, i) => {
    // Bacalhau replaces only the space character; other whitespace is kept as is.
    labels[`GPU-${i}`] = gpu.Name.replaceAll(' ', '-')
    labels[`GPU-${i}-Memory`] = `${gpu.Memory}-MiB`
  })
  return labels
}
