// Bacalhau enumerations with their wire forms (reference: bacalhau-api.md §3).

export const JobStateType = {
  Undefined: 'Undefined',
  Pending: 'Pending',
  Queued: 'Queued',
  Running: 'Running',
  Completed: 'Completed',
  Failed: 'Failed',
  Stopped: 'Stopped',
} as const
export type JobStateType = (typeof JobStateType)[keyof typeof JobStateType]
export const jobStateNames = Object.values(JobStateType)
export const terminalJobStates: ReadonlySet<JobStateType> = new Set(['Completed', 'Failed', 'Stopped'])
export const isTerminalJobState = (s: JobStateType) => terminalJobStates.has(s)

/** Integer on the wire (v1.5.2+ numbering). */
export const ExecutionStateType = {
  Undefined: 0,
  New: 1,
  AskForBid: 2,
  AskForBidAccepted: 3,
  AskForBidRejected: 4,
  BidAccepted: 5,
  Running: 6,
  Publishing: 7,
  BidRejected: 8,
  Completed: 9,
  Failed: 10,
  Cancelled: 11,
} as const
export type ExecutionStateType = (typeof ExecutionStateType)[keyof typeof ExecutionStateType]
export const executionStateName = (s: number): string =>
  (Object.entries(ExecutionStateType).find(([, v]) => v === s)?.[0] as string) ?? 'Undefined'

const E = ExecutionStateType
export const terminalExecutionStates: ReadonlySet<number> = new Set([
  E.AskForBidRejected,
  E.BidRejected,
  E.Completed,
  E.Failed,
  E.Cancelled,
])
export const discardedExecutionStates: ReadonlySet<number> = new Set([
  E.AskForBidRejected,
  E.BidRejected,
  E.Cancelled,
  E.Failed,
])
export const isTerminalExecutionState = (s: number) => terminalExecutionStates.has(s)
export const isDiscardedExecutionState = (s: number) => discardedExecutionStates.has(s)

export const ExecutionDesiredStateType = { Pending: 0, Running: 1, Stopped: 2 } as const
export type ExecutionDesiredStateType =
  (typeof ExecutionDesiredStateType)[keyof typeof ExecutionDesiredStateType]
export const desiredStateName = (s: number): string =>
  (Object.entries(ExecutionDesiredStateType).find(([, v]) => v === s)?.[0] as string) ?? 'Pending'

export const JobType = { Batch: 'batch', Ops: 'ops', Service: 'service', Daemon: 'daemon' } as const
export type JobType = (typeof JobType)[keyof typeof JobType]
export const jobTypes: readonly string[] = Object.values(JobType)

export const NetworkType = {
  Default: 'Default',
  None: 'None',
  Host: 'Host',
  Full: 'Full',
  HTTP: 'HTTP',
  Bridge: 'Bridge',
} as const
export type NetworkType = (typeof NetworkType)[keyof typeof NetworkType]

export const EvaluationStatus = {
  Pending: 'pending',
  Blocked: 'blocked',
  Complete: 'complete',
  Failed: 'failed',
  Canceled: 'canceled',
} as const
export type EvaluationStatus = (typeof EvaluationStatus)[keyof typeof EvaluationStatus]

export const EvaluationTrigger = {
  JobRegister: 'job-register',
  JobUpdate: 'job-update',
  JobRerun: 'job-rerun',
  JobCancel: 'job-cancel',
  JobQueue: 'job-queue',
  JobTimeout: 'job-timeout',
  ExecFailure: 'exec-failure',
  ExecUpdate: 'exec-update',
  ExecTimeout: 'exec-timeout',
  NodeJoin: 'node-join',
  NodeLeave: 'node-leave',
} as const
export type EvaluationTrigger = (typeof EvaluationTrigger)[keyof typeof EvaluationTrigger]

export const HistoryType = { JobLevel: 'JobLevel', ExecutionLevel: 'ExecutionLevel' } as const
export type HistoryType = (typeof HistoryType)[keyof typeof HistoryType]

export const ExecutionLogType = { Unknown: 0, Stdout: 1, Stderr: 2 } as const
export type ExecutionLogType = (typeof ExecutionLogType)[keyof typeof ExecutionLogType]
