// An orchestrator and N compute nodes in this process, joined by the in-process
// transport: the real scheduler, stores and compute pipeline, with a chosen executor set.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import { defaultConfig, type Config } from '../../src/config/types.js'
import { ComputeNode } from '../../src/compute/compute-node.js'
import { ExecutionStore } from '../../src/compute/store.js'
import { NoopExecutor } from '../../src/executors/noop/index.js'
import type { Executor } from '../../src/executors/types.js'
import type { Job, JobInput } from '../../src/models/job.js'
import { emptyComputeNodeInfo } from '../../src/models/node.js'
import type { ResourcesUsage } from '../../src/models/execution.js'
import { buildVersionInfo } from '../../src/models/version.js'
import { NodeManager } from '../../src/orchestrator/nodes.js'
import { Orchestrator } from '../../src/orchestrator/orchestrator.js'
import { JobStore } from '../../src/orchestrator/store.js'
import { PublisherRegistry } from '../../src/publishers/registry.js'
import { StorageRegistry } from '../../src/storage/registry.js'
import { openDatabase } from '../../src/store/sqlite.js'
import { InProcessNetwork } from '../../src/transport/in-process.js'

export interface ClusterOptions {
  computes?: number
  executors?: () => Executor[]
  capacity?: ResourcesUsage
  configure?: (c: Config) => void
  dataDir?: string
}

export interface TestCluster {
  config: Config
  dataDir: string
  orchestrator: Orchestrator
  store: JobStore
  network: InProcessNetwork
  computes: ComputeNode[]
  submit(job: Partial<JobInput> & Record<string, unknown>): Promise<string>
  waitForState(jobId: string, states: string[], timeoutMs?: number): Promise<Job>
  addCompute(id?: string): Promise<ComputeNode>
  stop(): Promise<void>
}

export const silentLogger = pino({ level: 'silent' })

export async function startCluster(opts: ClusterOptions = {}): Promise<TestCluster> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-'))
  const config = defaultConfig()
  config.DataDir = dataDir
  config.Orchestrator.Scheduler.HousekeepingInterval = '200ms'
  config.Orchestrator.Scheduler.QueueBackoff = '200ms'
  config.Compute.Heartbeat.Interval = '1s'
  config.Publishers.Types.Local.Port = 0
  opts.configure?.(config)
  const network = new InProcessNetwork()
  const store = new JobStore(openDatabase(':memory:'))
  const self = {
    NodeID: 'n-orchestrator',
    NodeType: 'Requester' as const,
    Labels: {},
    SupportedProtocols: [],
    ComputeNodeInfo: emptyComputeNodeInfo(),
    BacalhauVersion: buildVersionInfo(),
  }
  const nodes = new NodeManager(self, { manualApproval: false, disconnectTimeoutMs: 60_000 })
  const orchestrator = new Orchestrator({
    nodeId: self.NodeID,
    store,
    nodes,
    transport: network.orchestrator,
    config,
    logger: silentLogger,
  })
  orchestrator.start()
  const computes: ComputeNode[] = []
  const publishers: PublisherRegistry[] = []

  const addCompute = async (id = `n-compute-${computes.length}`) => {
    const dir = path.join(dataDir, id)
    fs.mkdirSync(dir, { recursive: true })
    const pubs = new PublisherRegistry({
      local: { address: '127.0.0.1', port: 0, storageDir: path.join(dir, 'local-publisher') },
      disabled: [],
    })
    await pubs.startAll()
    publishers.push(pubs)
    const node = new ComputeNode({
      nodeId: id,
      nodeType: 'Compute',
      config,
      dataDir: dir,
      store: new ExecutionStore(openDatabase(':memory:')),
      transport: network.connectCompute(id),
      executors: opts.executors?.() ?? [new NoopExecutor()],
      storage: new StorageRegistry({
        allowListedLocalPaths: config.Compute.AllowListedLocalPaths,
        disabled: [],
      }),
      publishers: pubs,
      maxCapacity: opts.capacity ?? { CPU: 2, Memory: 4e9, Disk: 10e9, GPU: 0 },
      logger: silentLogger,
    })
    await node.start()
    computes.push(node)
    await new Promise((r) => setTimeout(r, 5))
    return node
  }
  for (let i = 0; i < (opts.computes ?? 1); i++) await addCompute()

  const waitForState = (jobId: string, states: string[], timeoutMs = 10_000) =>
    new Promise<Job>((resolve, reject) => {
      const check = () => {
        const job = store.getJob(jobId)
        if (job && states.includes(job.State.StateType)) {
          cleanup()
          resolve(job)
        }
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(
          new Error(
            `job ${jobId} did not reach ${states.join('/')} (is ${store.getJob(jobId)?.State.StateType})`,
          ),
        )
      }, timeoutMs)
      const poll = setInterval(check, 20)
      const cleanup = () => {
        clearTimeout(timer)
        clearInterval(poll)
      }
      check()
    })

  return {
    config,
    dataDir,
    orchestrator,
    store,
    network,
    computes,
    addCompute,
    async submit(job) {
      const { JobSchema } = await import('../../src/models/job.js')
      const res = await orchestrator.submitJob({ job: JobSchema.parse(job), force: false })
      return res.JobID
    },
    waitForState,
    async stop() {
      for (const c of computes) await c.stop()
      orchestrator.stop()
      for (const p of publishers) await p.stopAll()
      store.db.close()
      fs.rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

export const noopJob = (extra: Record<string, unknown> = {}, params: Record<string, unknown> = {}) => ({
  Type: 'batch',
  Count: 1,
  Tasks: [{ Name: 'main', Engine: { Type: 'noop', Params: params } }],
  ...extra,
})
