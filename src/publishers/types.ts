// The Publisher seam: one folder per publisher type.
import type { SpecConfig } from '../models/job.js'

export interface PublishRequest {
  executionId: string
  jobId: string
  nodeId: string
  /** The task's Publisher spec. */
  spec: SpecConfig
  /** The execution's results directory (stdout, stderr, exitCode, <output names>/). */
  resultsDir: string
}

export interface Publisher {
  /** Publisher type name, lower-case. */
  readonly name: string
  isInstalled(): Promise<boolean>
  validate?(spec: SpecConfig): string | undefined
  /** Publishes the results and returns the PublishedResult to store on the execution. */
  publish(request: PublishRequest, signal: AbortSignal): Promise<SpecConfig>
}
