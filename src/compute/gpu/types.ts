// The GPU object as it travels on the wire (bacalhau-api.md §2.7). Bacalhau's Go struct has no
// json tags, so the keys are the Go field names.

export type GpuVendor = 'NVIDIA' | 'AMD/ATI' | 'Intel'

export interface GpuInfo {
  /** Device index as the vendor tool reports it (not unique across vendors). */
  Index: number
  /** Model, e.g. `Tesla T4`. */
  Name: string
  Vendor: GpuVendor
  /** Total device memory in MiB; 0 where the tool cannot tell (e.g. unified-memory parts). */
  Memory: number
  /** `AAAA:BB:CC.C`, lower-case hex; empty where the tool does not report it. */
  PCIAddress: string
}
