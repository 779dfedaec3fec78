// The StorageProvider seam: one folder per input source type.
import type { InputSource } from '../models/job.js'
import type { PreparedInput } from '../executors/types.js'

export interface StorageProvider {
  /** Source type names this provider handles, lower-case ("inline", "local", "localdirectory"). */
  readonly types: readonly string[]
  isInstalled(): Promise<boolean>
  /** Checks params at bid time; returns a rejection reason or undefined. */
  validate?(input: InputSource): string | undefined
  /** Fetches the input under `workDir` (or checks it in place) and says how to mount it. */
  prepare(input: InputSource, workDir: string, signal: AbortSignal): Promise<PreparedInput>
  /** Removes what prepare() made, if anything. */
  cleanup?(prepared: PreparedInput): Promise<void>
}
