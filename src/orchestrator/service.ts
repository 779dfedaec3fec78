// What the REST API needs from an orchestrator. The API layer parses HTTP; this layer
// owns ID/name resolution, paging tokens, and Bacalhau's error codes (BacalhauError).
import type { Execution, JobHistory } from '../models/execution.js'
import type { Job, JobInput, LabelSelectorRequirement, SpecConfig } from '../models/job.js'
import type { NodeState } from '../models/node.js'
import type { LogEntry } from '../protocols/messages.js'

export interface SubmitJobRequest {
  job: JobInput | undefined
  force: boolean
  clientInstallationId?: string
  clientInstanceId?: string
}
export interface SubmitJobResponse {
  JobID: string
  EvaluationID: string
  Warnings: string[] | null
}

export interface ListJobsQuery {
  namespace?: string
  limit?: number
  nextToken?: string
  orderBy?: string
  reverse?: boolean
  labels?: LabelSelectorRequirement[]
}
export interface HistoryQuery {
  namespace?: string
  limit?: number
  nextToken?: string
  /** Unix seconds; older entries are dropped. */
  since?: number
  eventType?: 'all' | 'job' | 'execution'
  executionId?: string
}
export interface ExecutionsQuery {
  namespace?: string
  limit?: number
  orderBy?: string
  reverse?: boolean
}
export interface LogsQuery {
  namespace?: string
  executionId?: string
  tail: boolean
  follow: boolean
}
export interface ListNodesQuery {
  limit?: number
  orderBy?: string
  reverse?: boolean
  labels?: LabelSelectorRequirement[]
  filterApproval?: string
  filterStatus?: string
}

export interface Page<T> {
  Items: T[]
  NextToken: string
}

export interface OrchestratorApi {
  submitJob(req: SubmitJobRequest): Promise<SubmitJobResponse>
  /** Resolves a full ID, a name (within namespace), or an ID prefix. */
  getJob(idOrName: string, namespace?: string): Job
  listJobs(q: ListJobsQuery): Page<Job>
  stopJob(idOrName: string, reason: string, namespace?: string): Promise<{ EvaluationID: string }>
  jobHistory(idOrName: string, q: HistoryQuery): Page<JobHistory>
  jobExecutions(idOrName: string, q: ExecutionsQuery): Page<Execution>
  jobVersions(idOrName: string, namespace?: string): Page<Job>
  jobResults(idOrName: string, namespace?: string): Page<SpecConfig> | Promise<Page<SpecConfig>>
  /** Streams an execution's output. Errors (unknown job, no executions) are thrown before the first entry. */
  streamLogs(idOrName: string, q: LogsQuery, signal: AbortSignal): AsyncIterable<LogEntry>
  listNodes(q: ListNodesQuery): NodeState[]
  getNode(idPrefix: string): NodeState
  nodeAction(idPrefix: string, action: string): void
}
