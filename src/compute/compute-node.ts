// The compute side of a node: answers bids, queues accepted executions within its
// capacity, runs them (inputs → executor → results → publisher) and reports back.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { parseDuration, type Config } from '../config/types.js'
import { ExecutionStateType as ES, isTerminalExecutionState } from '../models/enums.js'
import { emptyRunOutput, type Execution, type ResourcesUsage } from '../models/execution.js'
import type { Job, SpecConfig } from '../models/job.js'
import { nowNanos } from '../models/json.js'
import type { ComputeNodeInfo, NodeInfo } from '../models/node.js'
import { parseResourcesConfig } from '../models/resources.js'
import { buildVersionInfo } from '../models/version.js'
import type { Executor, PreparedInput, PreparedOutput, RunRequest } from '../executors/types.js'
import type { LogEntry, LogRequest, OrchestratorMessage } from '../protocols/messages.js'
import type { PublisherRegistry } from '../publishers/registry.js'
import type { StorageRegistry } from '../storage/registry.js'
import type { ComputeTransport } from '../transport/types.js'
import type { Logger } from '../util/logger.js'
import { bid } from './bidder.js'
import { CapacityTracker } from './capacity.js'
import { execProbe, httpProbe } from './probes.js'
import { ExecutionLog, readLog } from './logs.js'
import { ResultsWriter } from './results.js'
import type { ExecutionStore, LocalExecution } from './store.js'

export interface ComputeNodeOptions {
  nodeId: string
  nodeType: 'Compute'
  config: Config
  dataDir: string
  store: ExecutionStore
  transport: ComputeTransport
  executors: Executor[]
  storage: StorageRegistry
  publishers: PublisherRegistry
  maxCapacity: ResourcesUsage
  /** Labels found on the host (GPU models), under the operator's own. */
  extraLabels?: Record<string, string>
  logger: Logger
}

interface Running {
  abort: AbortController
  usage: ResourcesUsage
}

const FALLBACK_USAGE: ResourcesUsage = { CPU: 0.1, Memory: 100 * 1024 * 1024 }
const PROGRESS_REPORT_DELAY_MS = 50
/** About ten minutes of retries at the 2 s cap. */
const DELIVERY_ATTEMPTS = 300

export class ComputeNode {
  readonly bootId = randomUUID()
  private readonly log: Logger
  private readonly capacity: CapacityTracker
  private readonly executors = new Map<string, Executor>()
  private readonly queue: LocalExecution[] = []
  private readonly running = new Map<string, Running>()
  private readonly liveLogs = new Map<string, ExecutionLog>()
  private infoTimer?: NodeJS.Timeout
  private infoDirty = false
  private heartbeat?: NodeJS.Timeout
  private stopped = false
  private readonly progressTimers = new Map<string, NodeJS.Timeout>()
  private readonly retryTimers = new Set<NodeJS.Timeout>()

  private clearProgress(id: string): void {
    clearTimeout(this.progressTimers.get(id))
    this.progressTimers.delete(id)
  }

  constructor(private readonly opts: ComputeNodeOptions) {
    this.log = opts.logger.child({ component: 'compute' })
    this.capacity = new CapacityTracker(opts.maxCapacity)
    opts.transport.onOrchestratorMessage((m) => this.onMessage(m))
    opts.transport.onLogRequest((req, signal) => this.streamLogs(req, signal))
  }

  async start(): Promise<void> {
    for (const ex of this.opts.executors)
      if (await ex.isInstalled()) this.executors.set(ex.name.toLowerCase(), ex)
    // Whatever was in flight when the node went down cannot be resumed: fail it locally.
    // The orchestrator sees our new bootId and fails its copies, then reschedules.
    for (const rec of this.opts.store.unfinished()) {
      rec.state = ES.Failed
      rec.message = 'Failed due to node restart'
      rec.ModifyTime = nowNanos()
      this.opts.store.put(rec)
    }
    await this.sendInfo()
    const every = parseDuration(this.opts.config.Compute.Heartbeat.Interval)
    this.heartbeat = setInterval(() => void this.sendInfo(), Math.max(every, 500))
    this.heartbeat.unref()
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.heartbeat) clearInterval(this.heartbeat)
    if (this.infoTimer) clearTimeout(this.infoTimer)
    for (const t of this.progressTimers.values()) clearTimeout(t)
    for (const t of this.retryTimers) clearTimeout(t)
    for (const r of this.running.values()) r.abort.abort()
  }

  nodeInfo(): NodeInfo {
    const cfg = this.opts.config
    const labels: Record<string, string> = {
      ...this.opts.extraLabels,
      ...cfg.Labels,
      name: this.opts.nodeId,
      os_type: os.platform(),
      os_arch: os.arch() === 'x64' ? 'amd64' : os.arch(),
    }
    const queued = this.queue.reduce((acc, r) => acc + (this.usageOf(r.execution.Job!).CPU ?? 0), 0)
    const info: ComputeNodeInfo = {
      ExecutionEngines: [...this.executors.keys()].sort(),
      Publishers: this.opts.publishers.names(),
      StorageSources: this.opts.storage.types(),
      MaxCapacity: this.capacity.max,
      QueueCapacity: queued ? { CPU: queued } : {},
      AvailableCapacity: this.capacity.available(),
      MaxJobRequirements: this.capacity.max,
      RunningExecutions: this.running.size,
      EnqueuedExecutions: this.queue.length,
      address: cfg.Publishers.Types.Local.Address,
    }
    return {
      NodeID: this.opts.nodeId,
      NodeType: 'Compute',
      Labels: labels,
      SupportedProtocols: ['cod/compute/1.0.0'],
      ComputeNodeInfo: info,
      BacalhauVersion: buildVersionInfo(),
    }
  }

  private async sendInfo(): Promise<void> {
    if (this.stopped) return
    this.infoDirty = false
    try {
      await this.opts.transport.sendToOrchestrator({
        type: 'NodeInfoUpdate',
        nodeId: this.opts.nodeId,
        bootId: this.bootId,
        info: this.nodeInfo() as unknown as Record<string, unknown>,
      })
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'node info not delivered')
    }
  }

  /** Capacity changed: tell the orchestrator soon, at most once a second. */
  private infoChanged(): void {
    if (this.infoDirty || this.stopped) return
    this.infoDirty = true
    this.infoTimer = setTimeout(() => void this.sendInfo(), 1000)
    this.infoTimer.unref()
  }

  private usageOf(job: Job): ResourcesUsage {
    let u: ResourcesUsage
    try {
      u = parseResourcesConfig(job.Tasks[0]?.Resources)
    } catch {
      u = {}
    }
    return {
      CPU: u.CPU || FALLBACK_USAGE.CPU,
      Memory: u.Memory || FALLBACK_USAGE.Memory,
      Disk: u.Disk ?? 0,
      GPU: u.GPU ?? 0,
    }
  }

  // ------------------------------------------------------------ messages

  private onMessage(m: OrchestratorMessage): void {
    try {
      switch (m.type) {
        case 'AskForBid':
          return void this.onAskForBid(m.execution as unknown as Execution, m.preApproved).catch((err) =>
            this.log.error({ err }, 'bidding failed'),
          )
        case 'BidAccepted':
          return this.onBidAccepted(m.executionId)
        case 'BidRejected':
          return this.finishLocal(m.executionId, ES.BidRejected, m.reason)
        case 'CancelExecution':
          return this.cancel(m.executionId, m.reason)
      }
    } catch (err) {
      this.log.error({ err, type: m.type }, 'failed to handle orchestrator message')
    }
  }

  /**
   * Sends a message to the orchestrator. Outcomes (bid answers, results, failures) are
   * retried with backoff while the orchestrator is away — it may be restarting — so a
   * finished execution is never lost; progress reports are not worth a retry.
   */
  private send(m: Parameters<ComputeTransport['sendToOrchestrator']>[0], attempt = 1): void {
    this.opts.transport.sendToOrchestrator(m).catch((err: Error) => {
      const retry = m.type !== 'ExecutionProgress' && attempt < DELIVERY_ATTEMPTS && !this.stopped
      this.log.warn(
        { err: err.message, type: m.type, attempt, retrying: retry },
        'could not reach orchestrator',
      )
      if (!retry) return
      const timer = setTimeout(
        () => {
          this.retryTimers.delete(timer)
          this.send(m, attempt + 1)
        },
        // A short cap: an orchestrator that restarts should hear the result soon after.
        Math.min(500 * 2 ** (attempt - 1), 2_000),
      )
      timer.unref()
      this.retryTimers.add(timer)
    })
  }

  private async onAskForBid(execution: Execution, preApproved: boolean): Promise<void> {
    const job = execution.Job
    if (!job || !Array.isArray(job.Tasks)) {
      this.send({
        type: 'BidResult',
        nodeId: this.opts.nodeId,
        executionId: execution.ID,
        jobId: execution.JobID,
        accepted: false,
        reason: 'rejected bid: execution carries no job',
      })
      return
    }
    if (this.opts.store.get(execution.ID)) return // duplicate delivery
    const now = nowNanos()
    const rec: LocalExecution = { execution, state: ES.New, message: '', CreateTime: now, ModifyTime: now }
    this.opts.store.put(rec)
    const admission = this.opts.config.JobAdmissionControl
    let ipfsHeldLocally = false
    if (admission.Locality === 'local') {
      const ipfs = this.opts.storage.get('ipfs') as
        { hasLocally?: (i: unknown) => Promise<boolean> } | undefined
      const inputs = (job.Tasks[0]?.InputSources ?? []).filter((i) => i.Source?.Type.toLowerCase() === 'ipfs')
      ipfsHeldLocally =
        !!ipfs?.hasLocally && (await Promise.all(inputs.map((i) => ipfs.hasLocally!(i)))).every(Boolean)
    }
    const reasons = [
      bid({
        job,
        usage: this.usageOf(job),
        maxCapacity: this.capacity.max,
        executors: this.executors,
        storage: this.opts.storage,
        publishers: this.opts.publishers,
        admission,
        ipfsHeldLocally,
      }),
      admission.ProbeExec ? `rejected bid: ${(await execProbe(admission.ProbeExec, job)) ?? ''}` : undefined,
      admission.ProbeHTTP ? `rejected bid: ${(await httpProbe(admission.ProbeHTTP, job)) ?? ''}` : undefined,
    ].filter((r): r is string => !!r && r !== 'rejected bid: ')
    const reason = reasons.length ? reasons.join('; ') : undefined
    if (reason) {
      rec.state = ES.AskForBidRejected
      rec.message = reason
      this.opts.store.put(rec)
      this.send({
        type: 'BidResult',
        nodeId: this.opts.nodeId,
        executionId: execution.ID,
        jobId: job.ID,
        accepted: false,
        reason,
      })
      return
    }
    rec.state = preApproved ? ES.BidAccepted : ES.AskForBidAccepted
    this.opts.store.put(rec)
    if (preApproved) this.enqueue(rec)
    else
      this.send({
        type: 'BidResult',
        nodeId: this.opts.nodeId,
        executionId: execution.ID,
        jobId: job.ID,
        accepted: true,
        reason: '',
      })
  }

  private onBidAccepted(executionId: string): void {
    const rec = this.opts.store.get(executionId)
    if (!rec || rec.state !== ES.AskForBidAccepted) return
    rec.state = ES.BidAccepted
    rec.ModifyTime = nowNanos()
    this.opts.store.put(rec)
    this.enqueue(rec)
  }

  private finishLocal(executionId: string, state: number, message: string): void {
    const rec = this.opts.store.get(executionId)
    if (!rec || isTerminalExecutionState(rec.state)) return
    rec.state = state
    rec.message = message
    rec.ModifyTime = nowNanos()
    this.opts.store.put(rec)
  }

  private cancel(executionId: string, reason: string): void {
    const i = this.queue.findIndex((r) => r.execution.ID === executionId)
    if (i >= 0) this.queue.splice(i, 1)
    this.running.get(executionId)?.abort.abort()
    this.finishLocal(executionId, ES.Cancelled, reason)
  }

  // ------------------------------------------------------------ queue

  private enqueue(rec: LocalExecution): void {
    const job = rec.execution.Job!
    if (!this.capacity.fitsMax(this.usageOf(job))) {
      this.fail(rec, 'not enough capacity to run job', 'Exec Scanning')
      return
    }
    // Higher priority first; FIFO within a priority.
    const pos = this.queue.findIndex((q) => (q.execution.Job!.Priority ?? 0) < (job.Priority ?? 0))
    if (pos < 0) this.queue.push(rec)
    else this.queue.splice(pos, 0, rec)
    this.pump()
  }

  /** Starts every queued execution that fits in the free capacity, in queue order. */
  private pump(): void {
    for (let i = 0; i < this.queue.length && !this.stopped;) {
      const rec = this.queue[i]
      const usage = this.usageOf(rec.execution.Job!)
      if (!this.capacity.tryReserve(usage)) {
        i++
        continue
      }
      this.queue.splice(i, 1)
      const abort = new AbortController()
      this.running.set(rec.execution.ID, { abort, usage })
      void this.execute(rec, abort.signal).finally(() => {
        this.running.delete(rec.execution.ID)
        this.capacity.release(usage)
        this.infoChanged()
        this.pump()
      })
    }
    this.infoChanged()
  }

  // ------------------------------------------------------------ running

  /**
   * Records local progress, and tells the orchestrator only if the execution is still in
   * that state a moment later: a short task's progress would be stale on arrival, and
   * skipping it saves a network round trip per job.
   */
  private progress(rec: LocalExecution, state: number): void {
    rec.state = state
    rec.ModifyTime = nowNanos()
    this.opts.store.put(rec)
    const id = rec.execution.ID
    clearTimeout(this.progressTimers.get(id))
    const timer = setTimeout(() => {
      this.progressTimers.delete(id)
      if (this.opts.store.get(id)?.state !== state) return
      this.send({
        type: 'ExecutionProgress',
        nodeId: this.opts.nodeId,
        executionId: id,
        jobId: rec.execution.JobID,
        state,
        message: '',
      })
    }, PROGRESS_REPORT_DELAY_MS)
    timer.unref()
    this.progressTimers.set(id, timer)
  }

  private fail(rec: LocalExecution, message: string, topic: string): void {
    this.clearProgress(rec.execution.ID)
    const cur = this.opts.store.get(rec.execution.ID)
    if (cur && isTerminalExecutionState(cur.state)) return
    rec.state = ES.Failed
    rec.message = message
    rec.ModifyTime = nowNanos()
    this.opts.store.put(rec)
    this.send({
      type: 'ComputeError',
      nodeId: this.opts.nodeId,
      executionId: rec.execution.ID,
      jobId: rec.execution.JobID,
      message,
      topic,
    })
  }

  private executionDir(id: string): string {
    return path.join(this.opts.dataDir, 'compute', 'executions', id)
  }

  private async execute(rec: LocalExecution, signal: AbortSignal): Promise<void> {
    const e = rec.execution
    const job = e.Job!
    const task = job.Tasks[0]
    const dir = this.executionDir(e.ID)
    const resultsDir = path.join(dir, 'results')
    const prepared: Array<{ input: PreparedInput; cleanup?: () => Promise<void> }> = []
    this.progress(rec, ES.Running)
    let writer: ResultsWriter | undefined
    let logFile: ExecutionLog | undefined
    // The results folder and log file are made on first output (or before publishing):
    // a task that prints nothing and publishes nothing costs no disk writes, which on a
    // slow disk is most of a short job's cost.
    const files = () => {
      if (!writer || !logFile) {
        fs.mkdirSync(resultsDir, { recursive: true })
        writer = new ResultsWriter(resultsDir, { dirExists: true })
        logFile = new ExecutionLog(path.join(dir, 'output.log'))
        this.liveLogs.set(e.ID, logFile)
      }
      return { w: writer, l: logFile }
    }
    try {
      // Inputs
      try {
        for (const [i, src] of (task.InputSources ?? []).entries()) {
          const provider = this.opts.storage.get(src.Source?.Type ?? '')
          if (!provider) throw new Error(`unsupported input source type ${src.Source?.Type}`)
          const input = await provider.prepare(src, path.join(dir, 'inputs', String(i)), signal)
          prepared.push({ input, cleanup: provider.cleanup ? () => provider.cleanup!(input) : undefined })
        }
      } catch (err) {
        return this.fail(rec, `failed to prepare inputs: ${(err as Error).message}`, 'Downloading Inputs')
      }
      // Outputs: one writable folder per ResultPath; WASM tasks always get /outputs (the seed's promise).
      const resultPaths = [...(task.ResultPaths ?? [])]
      if (task.Engine?.Type.toLowerCase() === 'wasm' && !resultPaths.some((r) => r.Path === '/outputs'))
        if (!resultPaths.some((r) => r.Name === 'outputs'))
          resultPaths.push({ Name: 'outputs', Path: '/outputs' })
      const outputs: PreparedOutput[] = resultPaths.map((r) => {
        const hostPath = path.join(resultsDir, r.Name)
        fs.mkdirSync(hostPath, { recursive: true, mode: 0o755 })
        return { name: r.Name, path: r.Path, hostPath }
      })
      const env = this.environment(job, e)
      const executor = this.executors.get(task.Engine!.Type.toLowerCase())!
      const timeoutS = task.Timeouts?.ExecutionTimeout || task.Timeouts?.TotalTimeout || 0
      const usage = this.usageOf(job)
      const result = await executor.run(
        {
          executionId: e.ID,
          jobId: job.ID,
          engine: task.Engine as SpecConfig,
          env,
          inputs: prepared.map((p) => p.input),
          outputs,
          output: {
            stdout: (c) => {
              const { w, l } = files()
              w.stdout(c)
              l.append(1, c)
            },
            stderr: (c) => {
              const { w, l } = files()
              w.stderr(c)
              l.append(2, c)
            },
          },
          timeoutMs: job.Type === 'batch' || job.Type === 'ops' ? timeoutS * 1000 : 0,
          memoryBytes: usage.Memory,
          cpu: usage.CPU,
          // GPUs are not yet assigned exclusively per execution: a job gets the first ones it asks for.
          gpus: usage.GPU
            ? ((this.capacity.max.GPUs ?? []).slice(0, usage.GPU) as RunRequest['gpus'])
            : undefined,
          network: task.Network?.Type === 'Default' || !task.Network?.Type ? 'None' : task.Network.Type,
        },
        signal,
      )
      const pubType = task.Publisher?.Type ?? ''
      let runOutput = { ...emptyRunOutput(), ExitCode: result.exitCode }
      if (writer || pubType) {
        const { w, l } = files()
        runOutput = w.finish(result.exitCode)
        l.close()
      }
      if (signal.aborted) return // cancelled: the orchestrator already knows
      if (result.error) {
        const topic = result.timedOut ? 'Exec Timeout' : 'Running Execution'
        return this.fail(rec, result.error, topic)
      }
      let published: SpecConfig = { Type: '' }
      if (pubType) {
        this.progress(rec, ES.Publishing)
        try {
          const publisher = this.opts.publishers.get(pubType)
          if (!publisher) throw new Error(`unsupported publisher ${pubType}`)
          published = await publisher.publish(
            { executionId: e.ID, jobId: job.ID, nodeId: this.opts.nodeId, spec: task.Publisher!, resultsDir },
            signal,
          )
        } catch (err) {
          return this.fail(rec, `failed to publish results: ${(err as Error).message}`, 'Publishing Results')
        }
      }
      this.clearProgress(e.ID)
      rec.state = ES.Completed
      rec.ModifyTime = nowNanos()
      this.opts.store.put(rec)
      this.send({
        type: 'RunResult',
        nodeId: this.opts.nodeId,
        executionId: e.ID,
        jobId: job.ID,
        publishedResult: published as { Type: string; Params?: Record<string, unknown> },
        runOutput,
      })
    } catch (err) {
      this.log.error({ err, execution: e.ID }, 'execution failed')
      this.fail(rec, (err as Error).message, 'Running Execution')
    } finally {
      writer?.close()
      if (logFile && !logFile.isClosed) logFile.close()
      this.liveLogs.delete(e.ID)
      for (const p of prepared) await p.cleanup?.().catch(() => {})
    }
  }

  /** Task env with env:NAME references resolved, then the system BACALHAU_* variables. */
  private environment(job: Job, e: Execution): Record<string, string> {
    const allow = this.opts.config.Compute.Env.AllowList.map((p) => {
      try {
        return new RegExp(p)
      } catch {
        return undefined
      }
    })
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(job.Tasks[0]?.Env ?? {})) {
      if (v.startsWith('env:')) {
        const name = v.slice(4)
        if (allow.some((r) => r?.test(name)) && process.env[name] !== undefined) env[k] = process.env[name]!
      } else env[k] = v
    }
    env.BACALHAU_EXECUTION_ID = e.ID
    env.BACALHAU_JOB_ID = job.ID
    env.BACALHAU_JOB_TYPE = job.Type
    env.BACALHAU_PARTITION_INDEX = String(e.PartitionIndex ?? 0)
    env.BACALHAU_PARTITION_COUNT = String(job.Count)
    return env
  }

  // ------------------------------------------------------------ logs

  private async *streamLogs(req: LogRequest, signal: AbortSignal): AsyncGenerator<LogEntry> {
    const file = path.join(this.executionDir(req.executionId), 'output.log')
    // The log file appears with the first output. Following waits for it as long as the
    // execution lives; a one-off read waits briefly for a queued execution to start.
    const deadline = req.follow ? Infinity : Date.now() + 5_000
    while (!fs.existsSync(file) && Date.now() < deadline && !signal.aborted) {
      const rec = this.opts.store.get(req.executionId)
      if (!rec) throw new Error(`execution ${req.executionId} not found on node ${this.opts.nodeId}`)
      if (isTerminalExecutionState(rec.state)) break
      await new Promise((r) => setTimeout(r, 100))
    }
    yield* readLog(
      file,
      { follow: req.follow, tail: req.tail, live: this.liveLogs.get(req.executionId) },
      signal,
    )
  }
}
