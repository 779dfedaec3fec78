// The orchestrator: accepts jobs, keeps their history, schedules executions on compute
// nodes through the Transport and follows them to a terminal state.
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { formatDuration, parseDuration, type Config } from '../config/types.js'
import {
  ExecutionDesiredStateType as Desired,
  ExecutionStateType as ES,
  isDiscardedExecutionState,
  isTerminalExecutionState,
  isTerminalJobState,
  type EvaluationTrigger,
  type JobStateType,
} from '../models/enums.js'
import { BacalhauError, invalidRequest, notFound } from '../models/errors.js'
import { emptyRunOutput, type Evaluation, type Execution, type JobHistory } from '../models/execution.js'
import type { Job, JobInput, SpecConfig } from '../models/job.js'
import { selectorMatches } from '../models/labels.js'
import { nowNanos } from '../models/json.js'
import type { NodeInfo } from '../models/node.js'
import { prepareSubmittedJob } from '../models/normalize.js'
import { storeErrors, submissionErrors } from '../models/validate.js'
import type { ComputeMessage, LogEntry, OrchestratorMessage } from '../protocols/messages.js'
import type { OrchestratorTransport } from '../transport/types.js'
import type { Logger } from '../util/logger.js'
import { EvaluationBroker } from './broker.js'
import { errorEvent, event, Topic } from './events.js'
import type { NodeManager } from './nodes.js'
import { decodePageToken, encodePageToken } from './paging.js'
import { rankNodes, type Ranking } from './ranking.js'
import { transformResults } from './results.js'
import type {
  ExecutionsQuery,
  HistoryQuery,
  ListJobsQuery,
  ListNodesQuery,
  LogsQuery,
  OrchestratorApi,
  Page,
  SubmitJobRequest,
  SubmitJobResponse,
} from './service.js'
import type { JobStore } from './store.js'

const MAX_NEW_EXECUTIONS_PER_EVAL = 20
const shortId = (id: string) => id.replace(/^([a-z]-)?(.{8}).*$/, '$1$2')
const isFullId = (id: string) =>
  /^([a-z]-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)

export interface OrchestratorEvents {
  jobState: [job: Job]
}

export interface OrchestratorOptions {
  nodeId: string
  store: JobStore
  nodes: NodeManager
  transport: OrchestratorTransport
  config: Config
  logger: Logger
  installationId?: string
  instanceId?: string
}

/** Messages to send once the scheduling transaction has committed. */
type Outbox = Array<{ nodeId: string; message: OrchestratorMessage; executionId: string }>

export class Orchestrator implements OrchestratorApi {
  readonly events = new EventEmitter<OrchestratorEvents>()
  private readonly store: JobStore
  private readonly nodes: NodeManager
  private readonly transport: OrchestratorTransport
  private readonly log: Logger
  private readonly broker: EvaluationBroker
  private housekeeping?: NodeJS.Timeout
  private liveness?: NodeJS.Timeout
  private readonly queueBackoffMs: number
  /** Nodes whose accepted executions were re-sent since this process started or they returned. */
  private readonly resynced = new Set<string>()

  constructor(private readonly opts: OrchestratorOptions) {
    this.store = opts.store
    this.nodes = opts.nodes
    this.transport = opts.transport
    this.log = opts.logger.child({ component: 'orchestrator' })
    this.broker = new EvaluationBroker((jobId, evalIds) => this.evaluate(jobId, evalIds))
    this.queueBackoffMs = parseDuration(opts.config.Orchestrator.Scheduler.QueueBackoff)
    this.transport.onComputeMessage((m) => this.onComputeMessage(m))
  }

  /** Resumes pending evaluations and re-checks every unfinished job. */
  start(): void {
    const pending = this.store.pendingEvaluations()
    for (const ev of pending) this.broker.enqueue(ev.JobID, ev.ID)
    for (const jobId of this.store.nonTerminalJobIds()) this.broker.enqueue(jobId, '')
    const interval = Math.min(
      parseDuration(this.opts.config.Orchestrator.Scheduler.HousekeepingInterval),
      30_000,
    )
    this.housekeeping = setInterval(() => this.runHousekeeping(), Math.max(interval, 200))
    this.housekeeping.unref()
    // Lost nodes are noticed within a third of the disconnect timeout (1–30 s, as Bacalhau).
    const disconnectMs = parseDuration(this.opts.config.Orchestrator.NodeManager.DisconnectTimeout)
    this.liveness = setInterval(() => this.checkLiveness(), Math.min(Math.max(disconnectMs / 3, 250), 30_000))
    this.liveness.unref()
  }

  stop(): void {
    if (this.housekeeping) clearInterval(this.housekeeping)
    if (this.liveness) clearInterval(this.liveness)
    this.broker.stop()
    this.store.commit()
    this.events.removeAllListeners()
  }

  // ---------------------------------------------------------------- submission

  async submitJob(req: SubmitJobRequest): Promise<SubmitJobResponse> {
    const errors = submissionErrors(req.job)
    if (errors.length) throw invalidRequest(errors.join('\n'))
    const { job, warnings } = prepareSubmittedJob(req.job as JobInput, {
      orchestratorId: this.opts.nodeId,
      jobDefaults: this.opts.config.JobDefaults,
      clientInstallationId: req.clientInstallationId,
      clientInstanceId: req.clientInstanceId,
      serverInstallationId: this.opts.installationId,
      serverInstanceId: this.opts.instanceId,
    })
    const invalid = storeErrors(job)
    if (invalid.length)
      throw new BacalhauError(invalid.join('\n'), { code: 'BadRequest', component: 'JobStore' })

    const existingId = this.store.jobIdByName(job.Namespace, job.Name)
    const evaluation = this.store.tx(() => {
      const now = nowNanos()
      if (existingId) return this.updateExistingJob(existingId, job, req.force, now)
      job.CreateTime = now
      job.ModifyTime = now
      this.store.insertJob(job)
      this.jobEvent(job, event(Topic.Submission, 'Job submitted'))
      return this.newEvaluation(job, 'job-register')
    })
    // Answer only once the job is durable: a client that got a JobID never loses the job.
    await this.store.flushed()
    this.broker.enqueue(evaluation.JobID, evaluation.ID)
    return {
      JobID: evaluation.JobID,
      EvaluationID: evaluation.ID,
      Warnings: warnings.length ? warnings : null,
    }
  }

  private updateExistingJob(id: string, incoming: Job, force: boolean, now: bigint): Evaluation {
    const current = this.store.getJob(id)!
    const comparable = (j: Job) =>
      JSON.stringify({
        Priority: j.Priority,
        Count: j.Count,
        Constraints: j.Constraints,
        Labels: j.Labels,
        Tasks: j.Tasks,
        Meta: Object.fromEntries(Object.entries(j.Meta).filter(([k]) => !k.startsWith('bacalhau.org/'))),
      })
    if (!force && comparable(current) === comparable(incoming))
      throw new BacalhauError(
        `no changes detected for new job spec. Job Name: '${current.Name}', Job Id: '${current.ID}'`,
        {
          hint: 'Use the --force flag to override this warning',
        },
      )
    if (current.Type !== incoming.Type)
      throw new BacalhauError(
        `cannot change job type from ${current.Type} to ${incoming.Type} during update`,
        {
          code: 'BadRequest',
          component: 'JobStore',
        },
      )
    const updated: Job = {
      ...current,
      Priority: incoming.Priority,
      Count: incoming.Count,
      Constraints: incoming.Constraints,
      Meta: incoming.Meta,
      Labels: incoming.Labels,
      Tasks: incoming.Tasks,
      Version: current.Version + 1,
      Revision: current.Revision + 1,
      State: { StateType: 'Pending' },
      ModifyTime: now,
    }
    this.store.updateJob(updated)
    this.jobEvent(updated, event(Topic.Submission, 'Job updated'))
    return this.newEvaluation(updated, 'job-update')
  }

  private newEvaluation(job: Job, trigger: EvaluationTrigger, waitUntilMs = 0): Evaluation {
    const now = nowNanos()
    const ev: Evaluation = {
      ID: randomUUID(),
      Namespace: job.Namespace,
      JobID: job.ID,
      Type: job.Type,
      TriggeredBy: trigger,
      Priority: job.Priority,
      Status: 'pending',
      Comment: '',
      WaitUntil: waitUntilMs ? new Date(waitUntilMs).toISOString() : '0001-01-01T00:00:00Z',
      CreateTime: now,
      ModifyTime: now,
    }
    this.store.insertEvaluation(ev)
    return ev
  }

  /** Creates and queues an evaluation for a job outside of a scheduling pass. */
  private reevaluate(jobId: string, trigger: EvaluationTrigger, delayMs = 0): void {
    const job = this.store.getJob(jobId)
    if (!job) return
    const ev = this.newEvaluation(job, trigger, delayMs ? Date.now() + delayMs : 0)
    this.broker.enqueue(jobId, ev.ID, delayMs)
  }

  // ---------------------------------------------------------------- history helpers

  private jobEvent(job: Job, ev: JobHistory['Event']): void {
    this.store.appendHistory({
      Type: 'JobLevel',
      JobID: job.ID,
      JobVersion: job.Version,
      Event: ev,
      Time: ev.Timestamp,
    })
  }

  private execEvent(e: Execution, ev: JobHistory['Event']): void {
    this.store.appendHistory({
      Type: 'ExecutionLevel',
      JobID: e.JobID,
      JobVersion: e.JobVersion,
      ExecutionID: e.ID,
      Event: ev,
      Time: ev.Timestamp,
    })
  }

  private setJobState(
    job: Job,
    state: JobStateType,
    message?: string,
    details?: Record<string, string>,
  ): void {
    if (job.State.StateType === state) return
    if (isTerminalJobState(job.State.StateType)) return
    job.State = { StateType: state, ...(message ? { Message: message } : {}) }
    job.Revision++
    job.ModifyTime = nowNanos()
    this.store.updateJob(job)
    const ev = event(Topic.StateUpdate, message ? `${state}. ${message}` : state, {
      NewState: state,
      ...details,
    })
    this.jobEvent(job, ev)
    this.events.emit('jobState', job)
  }

  private saveExecution(
    e: Execution,
    change: { compute?: number; desired?: number; message?: string; details?: Record<string, string> },
  ): void {
    if (change.compute !== undefined)
      e.ComputeState = { StateType: change.compute, ...(change.message ? { Message: change.message } : {}) }
    if (change.desired !== undefined)
      e.DesiredState = { StateType: change.desired, ...(change.message ? { Message: change.message } : {}) }
    e.Revision++
    e.ModifyTime = nowNanos()
    this.store.updateExecution(e)
  }

  /** Stops an execution the orchestrator no longer wants, telling its node when it holds it. */
  private cancelExecution(e: Execution, reason: string, out: Outbox): void {
    if (isTerminalExecutionState(e.ComputeState.StateType)) return
    const wasDispatched = e.ComputeState.StateType !== ES.Undefined
    this.saveExecution(e, { compute: ES.Cancelled, desired: Desired.Stopped, message: reason })
    this.execEvent(e, event(Topic.Scheduling, reason))
    if (wasDispatched)
      out.push({
        nodeId: e.NodeID,
        executionId: e.ID,
        message: { type: 'CancelExecution', executionId: e.ID, jobId: e.JobID, reason },
      })
  }

  private failExecution(e: Execution, reason: string, topic: string = Topic.Scheduling): void {
    if (isTerminalExecutionState(e.ComputeState.StateType)) return
    this.saveExecution(e, { compute: ES.Failed, desired: Desired.Stopped, message: reason })
    this.execEvent(e, errorEvent(topic, reason))
  }

  // ---------------------------------------------------------------- scheduling

  private evaluate(jobId: string, evalIds: string[]): void {
    const out: Outbox = []
    try {
      this.store.tx(() => {
        this.schedule(jobId, out)
        for (const id of evalIds) if (id) this.completeEvaluation(id)
      })
    } catch (err) {
      this.log.error({ err, jobId }, 'scheduling failed')
      return
    }
    // Nodes hear about a decision only once it is committed.
    if (out.length) this.store.afterCommit(() => out.forEach((o) => this.dispatch(o)))
  }

  private completeEvaluation(id: string): void {
    this.store.completeEvaluation(id, nowNanos())
  }

  private dispatch(o: Outbox[number]): void {
    this.transport.sendToCompute(o.nodeId, o.message).catch((err: Error) => {
      this.log.warn(
        { err: err.message, node: o.nodeId, type: o.message.type },
        'could not reach compute node',
      )
      if (o.message.type === 'CancelExecution') return
      const e = this.store.getExecution(o.executionId)
      if (!e) return
      this.store.tx(() =>
        this.failExecution(
          e,
          `Execution failed because node ${shortId(o.nodeId)} is unreachable: ${err.message}`,
        ),
      )
      this.reevaluate(e.JobID, 'exec-failure')
    })
  }

  private schedule(jobId: string, out: Outbox): void {
    const job = this.store.getJob(jobId)
    if (!job) return
    const executions = this.store.executionsForJob(jobId)
    const live = executions.filter((e) => !isTerminalExecutionState(e.ComputeState.StateType))

    if (isTerminalJobState(job.State.StateType)) {
      const reason =
        job.State.StateType === 'Stopped'
          ? 'Execution stop requested because job has been stopped'
          : job.State.StateType === 'Failed'
            ? 'Execution stopped due to job failure'
            : 'Execution stop requested because there are more executions than needed'
      for (const e of live) this.cancelExecution(e, reason, out)
      return
    }
    for (const e of live) {
      if (e.JobVersion < job.Version) this.cancelExecution(e, 'Execution stopped for job update', out)
      else if (!this.nodes.isHealthy(e.NodeID))
        this.failExecution(e, 'Execution failed because node has disappeared')
    }
    if (job.Type === 'ops' || job.Type === 'daemon') this.scheduleAllNodes(job, executions, out)
    else this.schedulePartitions(job, executions, out)
  }

  /** batch and service: Count partitions, one live execution each. */
  private schedulePartitions(job: Job, executions: Execution[], out: Outbox): void {
    const current = executions.filter((e) => e.JobVersion === job.Version)
    const missing: number[] = []
    let completed = 0
    let approvedAny = false
    for (let p = 0; p < job.Count; p++) {
      const mine = current.filter((e) => (e.PartitionIndex ?? 0) === p)
      const done = mine.some((e) => e.ComputeState.StateType === ES.Completed)
      const active = mine.filter((e) => !isTerminalExecutionState(e.ComputeState.StateType))
      if (done && job.Type === 'batch') {
        completed++
        for (const e of active)
          this.cancelExecution(
            e,
            'Execution stop requested because there are more executions than needed',
            out,
          )
        continue
      }
      const running = active.filter((e) => e.DesiredState.StateType === Desired.Running)
      const accepted = active
        .filter(
          (e) =>
            e.ComputeState.StateType === ES.AskForBidAccepted && e.DesiredState.StateType === Desired.Pending,
        )
        .sort((a, b) => (a.CreateTime < b.CreateTime ? -1 : 1))
      if (running.length === 0 && accepted.length > 0) {
        const winner = accepted.shift()!
        this.saveExecution(winner, { compute: ES.BidAccepted, desired: Desired.Running })
        this.execEvent(winner, event(Topic.Execution, 'Running'))
        out.push({
          nodeId: winner.NodeID,
          executionId: winner.ID,
          message: { type: 'BidAccepted', executionId: winner.ID, jobId: job.ID },
        })
        running.push(winner)
        approvedAny = true
      }
      if (running.length > 0) {
        for (const e of accepted) {
          this.saveExecution(e, {
            compute: ES.BidRejected,
            desired: Desired.Stopped,
            message: 'bid rejected: partition already running',
          })
          out.push({
            nodeId: e.NodeID,
            executionId: e.ID,
            message: {
              type: 'BidRejected',
              executionId: e.ID,
              jobId: job.ID,
              reason: 'partition already running',
            },
          })
        }
        continue
      }
      if (active.length > 0) continue // waiting for a bid answer
      missing.push(p)
    }
    if (approvedAny && (job.State.StateType === 'Pending' || job.State.StateType === 'Queued'))
      this.setJobState(job, 'Running')
    if (job.Type === 'batch' && job.Count > 0 && completed >= job.Count) {
      this.setJobState(job, 'Completed')
      return
    }
    if (missing.length === 0) return
    this.placeExecutions(job, executions, missing, out, false)
  }

  /** ops and daemon: one pre-approved execution on every matching node. */
  private scheduleAllNodes(job: Job, executions: Execution[], out: Outbox): void {
    const current = executions.filter((e) => e.JobVersion === job.Version)
    if (current.length === 0 || job.Type === 'daemon') {
      const ranked = rankNodes(job, this.nodes.schedulable(), executions)
      const taken = new Set(current.map((e) => e.NodeID))
      const fresh = ranked.suitable.filter((r) => !taken.has(r.node.NodeID))
      if (current.length === 0 && fresh.length === 0) {
        this.setJobState(job, 'Failed', this.notEnoughNodes(job, 1, ranked))
        return
      }
      for (const r of fresh) this.createExecution(job, r.node, 0, true, out)
      if (fresh.length && job.State.StateType !== 'Running') this.setJobState(job, 'Running')
      if (job.Type === 'daemon') return
    }
    if (job.Type !== 'ops') return
    const all = this.store.executionsForJob(job.ID).filter((e) => e.JobVersion === job.Version)
    if (all.length && all.every((e) => isTerminalExecutionState(e.ComputeState.StateType))) {
      if (all.some((e) => e.ComputeState.StateType === ES.Failed))
        this.setJobState(job, 'Failed', 'Job failed because one or more executions failed')
      else this.setJobState(job, 'Completed')
    }
  }

  private placeExecutions(
    job: Job,
    executions: Execution[],
    partitions: number[],
    out: Outbox,
    preApproved: boolean,
  ): void {
    const ranked = rankNodes(job, this.nodes.schedulable(), executions)
    const suitable = ranked.best(Math.min(partitions.length, MAX_NEW_EXECUTIONS_PER_EVAL))
    const n = Math.min(partitions.length, suitable.length, MAX_NEW_EXECUTIONS_PER_EVAL)
    for (let i = 0; i < n; i++) this.createExecution(job, suitable[i].node, partitions[i], preApproved, out)
    if (partitions.length > MAX_NEW_EXECUTIONS_PER_EVAL && ranked.suitable.length > n)
      this.reevaluate(job.ID, 'job-queue', 100)
    if (ranked.suitable.length >= partitions.length || n === MAX_NEW_EXECUTIONS_PER_EVAL) return

    const message = this.notEnoughNodes(job, partitions.length, ranked)
    const queueTimeoutS = job.Tasks[0]?.Timeouts?.QueueTimeout ?? 0
    const deadlineMs = Number(job.CreateTime / 1_000_000n) + queueTimeoutS * 1000
    const remaining = deadlineMs - Date.now()
    if (queueTimeoutS > 0 && remaining > 0) {
      if (n === 0 && job.State.StateType !== 'Queued') {
        this.setJobState(job, 'Queued', message)
        this.jobEvent(job, event(Topic.Queueing, `Job queued. ${message}`))
      }
      this.reevaluate(job.ID, 'job-queue', Math.min(this.queueBackoffMs, remaining + 10))
      return
    }
    this.jobEvent(job, errorEvent(Topic.Scheduling, message))
    this.setJobState(job, 'Failed', message)
    for (const e of this.store.executionsForJob(job.ID))
      this.cancelExecution(e, 'Execution stopped due to job failure', out)
  }

  private notEnoughNodes(job: Job, requested: number, ranked: Ranking): string {
    const suitable = ranked.suitable.length
    let msg = `not enough nodes to run job. requested: ${requested}, available: ${ranked.total}, suitable: ${suitable}.`
    // Name a few nodes and why; with thousands of nodes the full list helps nobody.
    const shown = ranked.unsuitable.slice(0, 10)
    for (const r of shown) msg += `\n• Node ${shortId(r.node.NodeID)}: ${r.reasons.join('; ')}`
    if (ranked.unsuitable.length > shown.length)
      msg += `\n• … and ${ranked.unsuitable.length - shown.length} more nodes`
    if (ranked.total === 0) msg += ' No compute nodes are connected.'
    if (job.Type === 'ops' && requested === 1 && suitable === 0) msg = `no matching nodes. ${msg}`
    return msg
  }

  private createExecution(
    job: Job,
    node: NodeInfo,
    partition: number,
    preApproved: boolean,
    out: Outbox,
  ): void {
    const now = nowNanos()
    const e: Execution = {
      ID: `e-${randomUUID()}`,
      Namespace: job.Namespace,
      EvalID: '',
      Name: '',
      NodeID: node.NodeID,
      JobID: job.ID,
      JobVersion: job.Version,
      AllocatedResources: { Tasks: {} },
      DesiredState: { StateType: preApproved ? Desired.Running : Desired.Pending },
      ComputeState: { StateType: ES.New },
      PublishedResult: { Type: '' },
      RunOutput: emptyRunOutput(),
      PreviousExecution: '',
      NextExecution: '',
      FollowupEvalID: '',
      ...(partition ? { PartitionIndex: partition } : {}),
      Revision: 1,
      CreateTime: now,
      ModifyTime: now,
    }
    this.store.insertExecution(e)
    this.execEvent(
      e,
      event(Topic.Scheduling, `Requested execution on ${shortId(node.NodeID)}`, { NodeID: node.NodeID }),
    )
    out.push({
      nodeId: node.NodeID,
      executionId: e.ID,
      message: {
        type: 'AskForBid',
        execution: { ...e, Job: job } as unknown as Record<string, unknown>,
        preApproved,
      },
    })
  }

  // ---------------------------------------------------------------- compute messages

  private onComputeMessage(m: ComputeMessage): void {
    try {
      if (m.type === 'NodeInfoUpdate') return this.onNodeInfo(m.info as unknown as NodeInfo, m.bootId)
      const e = this.store.getExecution(m.executionId)
      if (!e) {
        this.log.warn({ type: m.type, execution: m.executionId }, 'message for unknown execution')
        return
      }
      if (isTerminalExecutionState(e.ComputeState.StateType)) return
      this.store.tx(() => {
        switch (m.type) {
          case 'BidResult':
            if (m.accepted) {
              if (e.DesiredState.StateType === Desired.Pending)
                this.saveExecution(e, { compute: ES.AskForBidAccepted })
            } else {
              this.saveExecution(e, {
                compute: ES.AskForBidRejected,
                desired: Desired.Stopped,
                message: m.reason,
              })
              this.execEvent(e, errorEvent('Exec Scanning', m.reason))
            }
            break
          case 'ExecutionProgress':
            if (m.state === ES.Running || m.state === ES.Publishing)
              this.saveExecution(e, { compute: m.state })
            return
          case 'RunResult':
            e.PublishedResult = m.publishedResult
            e.RunOutput = m.runOutput
            this.saveExecution(e, { compute: ES.Completed, desired: Desired.Stopped })
            this.execEvent(e, event(Topic.Execution, 'Completed successfully'))
            break
          case 'ComputeError':
            this.saveExecution(e, { compute: ES.Failed, desired: Desired.Stopped, message: m.message })
            this.execEvent(
              e,
              errorEvent(m.topic, m.message, { FailsExecution: 'true', ...(m.details ?? {}) }),
            )
            break
        }
        this.reevaluate(e.JobID, m.type === 'ComputeError' ? 'exec-failure' : 'exec-update')
      })
    } catch (err) {
      this.log.error({ err, type: m.type }, 'failed to handle compute message')
    }
  }

  private onNodeInfo(info: NodeInfo, bootId: string): void {
    const { restartedFrom, joined } = this.nodes.upsert(info, bootId)
    if (!restartedFrom && !this.resynced.has(info.NodeID)) this.resendAccepted(info.NodeID)
    if (!restartedFrom && !joined) return
    this.store.tx(() => {
      const jobs = new Set<string>()
      if (restartedFrom) {
        for (const e of this.store.liveExecutions()) {
          if (e.NodeID !== info.NodeID) continue
          this.failExecution(e, 'Execution failed due to node restart', Topic.Restart)
          jobs.add(e.JobID)
        }
      }
      // A joining node may make queued or daemon jobs schedulable now.
      for (const id of this.store.nonTerminalJobIds()) {
        const job = this.store.getJob(id)
        if (job && (job.State.StateType === 'Queued' || job.Type === 'daemon')) jobs.add(id)
      }
      for (const id of jobs) this.reevaluate(id, joined ? 'node-join' : 'exec-failure')
    })
  }

  /**
   * An orchestrator that stopped (or lost the node) right after accepting a bid may never
   * have delivered the BidAccepted: the node would hold the execution forever while this
   * side waits for it to run. So the first time a node is heard from (after a start of this
   * process or after it came back), its accepted executions are accepted again; the compute
   * side ignores an acceptance it has already acted on.
   */
  private resendAccepted(nodeId: string): void {
    this.resynced.add(nodeId)
    for (const e of this.store.liveExecutions()) {
      if (e.NodeID !== nodeId) continue
      if (e.ComputeState.StateType !== ES.BidAccepted || e.DesiredState.StateType !== Desired.Running)
        continue
      // Not dispatch(): a reminder that cannot be delivered yet (the node's stream may not be
      // up when its first update arrives) must not fail an execution the node may well be
      // running. It is tried again with the node's next update.
      const message = { type: 'BidAccepted' as const, executionId: e.ID, jobId: e.JobID }
      this.transport.sendToCompute(nodeId, message).catch((err: Error) => {
        this.resynced.delete(nodeId)
        this.log.debug({ err: err.message, node: nodeId, execution: e.ID }, 'could not re-send BidAccepted')
      })
    }
  }

  /** Marks silent nodes DISCONNECTED and re-evaluates the jobs running on them. */
  private checkLiveness(): void {
    try {
      const lost = this.nodes.sweep()
      if (lost.length === 0) return
      for (const id of lost) this.resynced.delete(id)
      this.log.warn({ nodes: lost }, 'compute nodes stopped sending heartbeats: marked DISCONNECTED')
      this.store.tx(() => {
        const jobs = new Set<string>()
        for (const e of this.store.liveExecutions()) if (lost.includes(e.NodeID)) jobs.add(e.JobID)
        for (const id of jobs) this.reevaluate(id, 'node-leave')
      })
    } catch (err) {
      this.log.error({ err }, 'liveness check failed')
    }
  }

  private runHousekeeping(): void {
    try {
      const now = Date.now()
      this.store.tx(() => {
        const touched = new Set<string>()
        for (const id of this.store.nonTerminalJobIds()) {
          const job = this.store.getJob(id)
          if (!job || (job.Type !== 'batch' && job.Type !== 'ops')) continue
          const total = job.Tasks[0]?.Timeouts?.TotalTimeout ?? 0
          if (total > 0 && now - Number(job.CreateTime / 1_000_000n) > total * 1000) {
            const msg = `Job timed out. Job took longer than ${formatDuration(total * 1000)}`
            this.jobEvent(
              job,
              errorEvent(Topic.JobTimeout, msg, {
                Hint: 'Increase the job timeout or check what the job is doing',
              }),
            )
            this.setJobState(job, 'Failed', msg)
            touched.add(id)
          }
        }
        for (const id of touched) this.reevaluate(id, 'job-timeout')
      })
    } catch (err) {
      this.log.error({ err }, 'housekeeping failed')
    }
  }

  // ---------------------------------------------------------------- queries

  getJob(idOrName: string, namespace?: string): Job {
    return this.store.getJob(this.resolveJobId(idOrName, namespace))!
  }

  private resolveJobId(idOrName: string, namespace?: string): string {
    const key = idOrName.trim()
    if (!key) throw invalidRequest('job ID or name is required')
    const byName = this.store.jobIdByName(namespace || 'default', key)
    if (byName) return byName
    if (this.store.getJob(key)) return key
    if (!isFullId(key)) {
      const ids = this.store.jobIdsByPrefix(key)
      if (ids.length === 1) return ids[0]
      if (ids.length > 1)
        throw new BacalhauError(`multiple jobs found for ID prefix ${key}`, {
          code: 'MultipleJobsFound',
          status: 400,
          component: 'JobStore',
          hint: 'Use a longer job ID prefix or the full job ID',
        })
    }
    throw notFound(`job not found: ${key}`)
  }

  listJobs(q: ListJobsQuery): Page<Job> {
    let sortBy = q.orderBy ?? ''
    let reverse = q.reverse ?? false
    let limit = q.limit ?? 0
    let offset = 0
    if (q.nextToken) {
      const t = decodePageToken(q.nextToken)
      sortBy = t.sortBy
      reverse = t.reverse
      limit = t.limit
      offset = t.offset
    }
    if (sortBy !== '' && sortBy !== 'created_at' && sortBy !== 'modified_at')
      throw new BacalhauError(
        `OrderBy ${sortBy} not supported for listJobs (use created_at or modified_at)`,
        {
          code: 'BadRequest',
          component: 'APIServer',
        },
      )
    const ns = q.namespace && q.namespace !== '*' ? q.namespace : undefined
    let jobs = this.store.listJobs({
      orderBy: sortBy === 'modified_at' ? 'modify_time' : 'create_time',
      reverse,
      namespace: ns,
    })
    if (q.labels?.length) {
      jobs = jobs.filter((j) => selectorMatches(q.labels!, j.Labels ?? {}))
    }
    const page = limit > 0 ? jobs.slice(offset, offset + limit) : jobs.slice(offset)
    const more = limit > 0 && offset + limit < jobs.length
    return {
      Items: page,
      NextToken: more
        ? encodePageToken({ sortBy: sortBy || 'created_at', reverse, limit, offset: offset + limit })
        : '',
    }
  }

  async stopJob(idOrName: string, reason: string, namespace?: string): Promise<{ EvaluationID: string }> {
    const id = this.resolveJobId(idOrName, namespace)
    const ev = this.store.tx(() => {
      const job = this.store.getJob(id)!
      const state = job.State.StateType
      if (state === 'Stopped') return undefined
      if (state === 'Completed')
        throw new BacalhauError(`cannot stop job in state ${state}`, {
          code: 'ConflictJobState',
          status: 409,
          component: 'JobStore',
        })
      if (state === 'Failed')
        throw new BacalhauError(`job ${job.ID} is already in terminal state ${state}`, {
          code: 'ConflictJobState',
          status: 409,
          component: 'JobStore',
        })
      const why = reason || 'Stopped at user request'
      this.jobEvent(job, event(Topic.StateUpdate, 'Job requested to stop before completion', { Reason: why }))
      this.setJobState(job, 'Stopped', why)
      return this.newEvaluation(job, 'job-cancel')
    })
    if (!ev) return { EvaluationID: '' }
    await this.store.flushed()
    this.broker.enqueue(ev.JobID, ev.ID)
    return { EvaluationID: ev.ID }
  }

  jobHistory(idOrName: string, q: HistoryQuery): Page<JobHistory> {
    const job = this.getJob(idOrName, q.namespace)
    let items = this.store.history(job.ID).filter((h) => h.JobVersion === job.Version)
    const type = q.eventType ?? 'all'
    if (type === 'job') items = items.filter((h) => h.Type === 'JobLevel')
    if (type === 'execution') items = items.filter((h) => h.Type === 'ExecutionLevel')
    if (q.executionId) items = items.filter((h) => h.ExecutionID?.startsWith(q.executionId!))
    if (q.since) items = items.filter((h) => Date.parse(h.Time) >= q.since! * 1000)
    const offset = q.nextToken ? decodePageToken(q.nextToken).offset : 0
    const limit = q.limit && q.limit > 0 ? q.limit : 100
    const page = items.slice(offset, offset + limit)
    const end = offset + page.length
    const more = end < items.length
    // While the job (or the chosen execution) is still going, the token doubles as a
    // "keep polling from here" cursor; it disappears once nothing more can come.
    let live = !isTerminalJobState(job.State.StateType)
    if (q.executionId && !more) {
      const e = this.store.getExecution(q.executionId)
      if (!e) throw notFound(`execution not found: ${q.executionId}`)
      live = !isTerminalExecutionState(e.ComputeState.StateType)
    }
    if (!live && !more && !isTerminalJobState(job.State.StateType)) live = true
    return {
      Items: page,
      NextToken: more || live ? encodePageToken({ sortBy: '', reverse: false, limit, offset: end }) : '',
    }
  }

  jobExecutions(idOrName: string, q: ExecutionsQuery): Page<Execution> {
    const job = this.getJob(idOrName, q.namespace)
    let items = this.store.executionsForJob(job.ID).filter((e) => e.JobVersion === job.Version)
    const order = q.orderBy ?? ''
    if (order === 'modified_at' || order === 'modify_time')
      items.sort((a, b) => (a.ModifyTime < b.ModifyTime ? -1 : 1))
    if (q.reverse) items.reverse()
    if (q.limit && q.limit > 0) items = items.slice(0, q.limit)
    return {
      Items: items.map((e) => ({ ...e, Job: this.store.jobVersion(job.ID, e.JobVersion) ?? job })),
      NextToken: '',
    }
  }

  jobVersions(idOrName: string, namespace?: string): Page<Job> {
    const job = this.getJob(idOrName, namespace)
    return { Items: this.store.jobVersions(job.ID), NextToken: '' }
  }

  async jobResults(idOrName: string, namespace?: string): Promise<Page<SpecConfig>> {
    const job = this.getJob(idOrName, namespace)
    if (job.Type !== 'batch' && job.Type !== 'ops')
      throw new BacalhauError(`job type ${job.Type} does not support results`, {
        code: 'BadRequest',
        component: 'JobStore',
      })
    const items = this.store
      .executionsForJob(job.ID)
      .filter((e) => e.JobVersion === job.Version && e.ComputeState.StateType === ES.Completed)
      .map((e) => e.PublishedResult)
      .filter((r) => r && r.Type)
    // s3 archives become pre-signed URLs a client can download without credentials.
    return { Items: await transformResults(items, { logger: this.log }), NextToken: '' }
  }

  async *streamLogs(idOrName: string, q: LogsQuery, signal: AbortSignal): AsyncIterable<LogEntry> {
    const job = this.getJob(idOrName, q.namespace)
    const executions = this.store.executionsForJob(job.ID)
    let exec: Execution | undefined
    if (q.executionId) {
      exec = executions.find((e) => e.ID === q.executionId)
      if (!exec) throw notFound(`execution not found: ${q.executionId}`)
    } else {
      exec = executions
        .filter((e) => !isDiscardedExecutionState(e.ComputeState.StateType))
        .sort((a, b) => (a.ModifyTime < b.ModifyTime ? 1 : -1))[0]
      // A failed run still has useful output; fall back to the latest execution of any state.
      exec ??= executions.sort((a, b) => (a.ModifyTime < b.ModifyTime ? 1 : -1))[0]
    }
    if (!exec)
      throw notFound(
        `failed to open log stream for job ${job.ID}: no executions found for job ${job.Name} with ID ${job.ID}`,
      )
    yield* this.transport.streamLogs(
      exec.NodeID,
      { executionId: exec.ID, follow: q.follow, tail: q.tail },
      signal,
    )
  }

  listNodes(q: ListNodesQuery) {
    return this.nodes.list(q)
  }

  getNode(idPrefix: string) {
    return this.nodes.get(idPrefix)
  }

  nodeAction(idPrefix: string, action: string): void {
    this.nodes.action(idPrefix, action)
  }
}
