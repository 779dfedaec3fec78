// Execution, Evaluation, history and run output shapes (bacalhau-api.md §2.11–2.14).
import type { Job, SpecConfig } from './job.js'
import type { EvaluationStatus, EvaluationTrigger, HistoryType } from './enums.js'

export interface ExecutionState {
  StateType: number
  Message?: string
  Details?: Record<string, string>
}

export interface RunCommandResult {
  Stdout: string
  StdoutTruncated: boolean
  stderr: string
  StderrTruncated: boolean
  ExitCode: number
  ErrorMsg: string
}

export interface GpuDevice {
  Index: number
  Name: string
  Vendor: string
  /** MiB */
  Memory: number
  PCIAddress: string
}

export interface ResourcesUsage {
  CPU?: number
  Memory?: number
  Disk?: number
  GPU?: number
  /** Per-device details of the GPUs counted in GPU. */
  GPUs?: GpuDevice[]
}

export interface Execution {
  ID: string
  Namespace: string
  EvalID: string
  Name: string
  NodeID: string
  JobID: string
  Job?: Job
  JobVersion: number
  AllocatedResources: { Tasks: Record<string, ResourcesUsage> }
  DesiredState: ExecutionState
  ComputeState: ExecutionState
  PublishedResult: SpecConfig
  RunOutput: RunCommandResult
  PreviousExecution: string
  NextExecution: string
  FollowupEvalID: string
  PartitionIndex?: number
  Revision: number
  CreateTime: bigint
  ModifyTime: bigint
}

export const emptyRunOutput = (): RunCommandResult => ({
  Stdout: '',
  StdoutTruncated: false,
  stderr: '',
  StderrTruncated: false,
  ExitCode: 0,
  ErrorMsg: '',
})

export interface Evaluation {
  ID: string
  Namespace: string
  JobID: string
  Type: string
  TriggeredBy: EvaluationTrigger
  Priority: number
  Status: EvaluationStatus
  Comment: string
  WaitUntil: string
  CreateTime: bigint
  ModifyTime: bigint
}

export interface HistoryEvent {
  Message: string
  Topic: string
  Timestamp: string
  Details?: Record<string, string>
}

export interface JobHistory {
  SeqNum: number
  Type: HistoryType
  JobID: string
  JobVersion: number
  ExecutionID?: string
  Event: HistoryEvent
  Time: string
}

export const RUN_OUTPUT_LIMIT = 2048
