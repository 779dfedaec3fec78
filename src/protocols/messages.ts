// The orchestrator <-> compute contract (protocols/compute-v1.md). Every message has a
// zod schema that yields its type and validates it when it arrives from the network.
import { z } from 'zod'

export const PROTOCOL_VERSION = 'cod/compute/1.0.0'

const jsonObject = z.record(z.string(), z.unknown())
const stringMap = z.record(z.string(), z.string())

/** Orchestrator -> compute: run bidding for this execution (carries the job copy). */
export const AskForBidSchema = z.object({
  type: z.literal('AskForBid'),
  /** The full Execution, with Job embedded; validated as an object here, as a job on use. */
  execution: jsonObject,
  /** Pre-approved executions (ops/daemon) start without waiting for BidAccepted. */
  preApproved: z.boolean(),
})
export const BidAcceptedSchema = z.object({
  type: z.literal('BidAccepted'),
  executionId: z.string().min(1),
  jobId: z.string(),
})
export const BidRejectedSchema = z.object({
  type: z.literal('BidRejected'),
  executionId: z.string().min(1),
  jobId: z.string(),
  reason: z.string(),
})
export const CancelExecutionSchema = z.object({
  type: z.literal('CancelExecution'),
  executionId: z.string().min(1),
  jobId: z.string(),
  reason: z.string(),
})

export const OrchestratorMessageSchema = z.discriminatedUnion('type', [
  AskForBidSchema,
  BidAcceptedSchema,
  BidRejectedSchema,
  CancelExecutionSchema,
])
export type OrchestratorMessage = z.infer<typeof OrchestratorMessageSchema>

/** Compute -> orchestrator: the answer to AskForBid. */
export const BidResultSchema = z.object({
  type: z.literal('BidResult'),
  nodeId: z.string(),
  executionId: z.string().min(1),
  jobId: z.string(),
  accepted: z.boolean(),
  reason: z.string(),
})
/** Compute -> orchestrator: local progress (Running, Publishing). */
export const ExecutionProgressSchema = z.object({
  type: z.literal('ExecutionProgress'),
  nodeId: z.string(),
  executionId: z.string().min(1),
  jobId: z.string(),
  state: z.number().int(),
  message: z.string(),
})
export const RunResultSchema = z.object({
  type: z.literal('RunResult'),
  nodeId: z.string(),
  executionId: z.string().min(1),
  jobId: z.string(),
  publishedResult: z.object({ Type: z.string(), Params: jsonObject.optional() }),
  runOutput: z.object({
    Stdout: z.string(),
    StdoutTruncated: z.boolean(),
    stderr: z.string(),
    StderrTruncated: z.boolean(),
    ExitCode: z.number().int(),
    ErrorMsg: z.string(),
  }),
})
export const ComputeErrorSchema = z.object({
  type: z.literal('ComputeError'),
  nodeId: z.string(),
  executionId: z.string().min(1),
  jobId: z.string(),
  message: z.string(),
  topic: z.string(),
  details: stringMap.optional(),
})
/** Compute -> orchestrator: who I am and what I can run; sent on join and on change. */
export const NodeInfoUpdateSchema = z.object({
  type: z.literal('NodeInfoUpdate'),
  nodeId: z.string().min(1),
  /** Random per process start: a new value tells the orchestrator the node restarted. */
  bootId: z.string().min(1),
  info: jsonObject,
})

export const ComputeMessageSchema = z.discriminatedUnion('type', [
  BidResultSchema,
  ExecutionProgressSchema,
  RunResultSchema,
  ComputeErrorSchema,
  NodeInfoUpdateSchema,
])
export type ComputeMessage = z.infer<typeof ComputeMessageSchema>

/** A request for an execution's logs, served by the compute node that ran it. */
export const LogRequestSchema = z.object({
  executionId: z.string().min(1),
  follow: z.boolean(),
  tail: z.boolean(),
})
export type LogRequest = z.infer<typeof LogRequestSchema>

export interface LogEntry {
  /** 1 = stdout, 2 = stderr (ExecutionLogType). */
  Type: 1 | 2
  Line: string
}
