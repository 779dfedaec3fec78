// The Executor seam: one folder per engine (wasm/, noop/, docker/ later).
import type { GpuInfo } from '../compute/gpu/types.js'
import type { SpecConfig } from '../models/job.js'

/** An input already fetched onto the host, ready to mount. */
export interface PreparedInput {
  /** Absolute host path of a file or directory. */
  hostPath: string
  /** Mount path inside the task (InputSource.Target). */
  target: string
  readOnly: boolean
}

/** A writable output directory on the host, collected into the results. */
export interface PreparedOutput {
  /** ResultPath.Name: the folder name in the published results. */
  name: string
  /** ResultPath.Path: where the task sees it. */
  path: string
  /** Absolute host directory (results/<name>), already created. */
  hostPath: string
}

/** Receives the task's output as it is produced. */
export interface OutputSink {
  stdout(chunk: Uint8Array): void
  stderr(chunk: Uint8Array): void
}

export interface RunRequest {
  executionId: string
  jobId: string
  engine: SpecConfig
  /** Final environment: task env, then system BACALHAU_* variables. */
  env: Record<string, string>
  inputs: PreparedInput[]
  outputs: PreparedOutput[]
  output: OutputSink
  /** Execution timeout; 0 or undefined means none. */
  timeoutMs?: number
  /** Memory limit in bytes; 0 or undefined means none. */
  memoryBytes?: number
  /** CPU cores allocated (advisory for engines that cannot enforce it). */
  cpu?: number
  /** Network type after the node's policy was applied. */
  network: string
  /**
   * The host GPUs assigned to this execution (docker only; other engines ignore them).
   * Absent or empty: the task gets no GPU.
   */
  gpus?: GpuInfo[]
}

export interface RunResult {
  exitCode: number
  /** A runner error: the execution fails. A non-zero exit code alone does not. */
  error?: string
  /** Set when the run was stopped because its timeout expired. */
  timedOut?: boolean
}

export interface Executor {
  /** Engine type name, lower-case ("wasm", "noop"). */
  readonly name: string
  /** Can this executor run on this host right now? */
  isInstalled(): Promise<boolean>
  /** Engine-specific checks done at bid time; returns a rejection reason or undefined. */
  validate?(engine: SpecConfig): string | undefined
  /** Runs one task to its end. Aborting the signal stops it and resolves with an error. */
  run(request: RunRequest, signal: AbortSignal): Promise<RunResult>
}
