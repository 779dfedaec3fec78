// Scheduling cost per job against a simulated node table of 10,000 compute nodes: the
// real Orchestrator (in-memory SQLite store, real NodeManager and ranking) with a
// transport that only records what would be sent. Cost = wall time from submitJob to the
// AskForBid being handed to the transport, per job, jobs submitted one at a time.
import { pino } from 'pino'
import { defaultConfig } from '../src/config/types.js'
import { JobSchema } from '../src/models/job.js'
import { emptyComputeNodeInfo, type NodeInfo } from '../src/models/node.js'
import { buildVersionInfo } from '../src/models/version.js'
import { NodeManager } from '../src/orchestrator/nodes.js'
import { Orchestrator } from '../src/orchestrator/orchestrator.js'
import { JobStore } from '../src/orchestrator/store.js'
import type { OrchestratorMessage } from '../src/protocols/messages.js'
import { openDatabase } from '../src/store/sqlite.js'
import type { OrchestratorTransport } from '../src/transport/types.js'

const NODES = Number(process.argv[2] ?? 10_000)
const JOBS = Number(process.argv[3] ?? 300)

function fakeNode(i: number): NodeInfo {
  const info = emptyComputeNodeInfo()
  info.ExecutionEngines = i % 10 === 0 ? ['docker'] : ['docker', 'wasm', 'noop']
  info.Publishers = ['local', 'noop']
  info.StorageSources = ['inline', 'local', 'localdirectory']
  const cpu = 2 + (i % 30)
  info.MaxCapacity = { CPU: cpu, Memory: 8e9, Disk: 100e9, GPU: i % 50 === 0 ? 1 : 0 }
  info.MaxJobRequirements = info.MaxCapacity
  info.AvailableCapacity = { CPU: cpu * ((i % 7) / 7), Memory: 4e9, Disk: 50e9, GPU: 0 }
  return {
    NodeID: `n-sim-${i.toString().padStart(5, '0')}`,
    NodeType: 'Compute',
    Labels: { region: ['eu', 'us', 'ap'][i % 3], zone: `z${i % 17}` },
    SupportedProtocols: [],
    ComputeNodeInfo: info,
    BacalhauVersion: buildVersionInfo(),
  }
}

async function main() {
  const config = defaultConfig()
  const store = new JobStore(openDatabase(':memory:'))
  const self = { ...fakeNode(-1), NodeID: 'n-orch', NodeType: 'Requester' as const }
  const nodes = new NodeManager(self, { manualApproval: false, disconnectTimeoutMs: 3_600_000 })
  for (let i = 0; i < NODES; i++) nodes.upsert(fakeNode(i), 'boot')
  let resolveSent: (() => void) | undefined
  const transport: OrchestratorTransport = {
    async sendToCompute(_nodeId: string, m: OrchestratorMessage) {
      if (m.type === 'AskForBid') resolveSent?.()
    },
    onComputeMessage() {},
    streamLogs() {
      throw new Error('not used')
    },
  }
  const orchestrator = new Orchestrator({
    nodeId: 'n-orch',
    store,
    nodes,
    transport,
    config,
    logger: pino({ level: 'silent' }),
  })
  const job = JobSchema.parse({
    Type: 'batch',
    Count: 1,
    Constraints: [{ Key: 'region', Operator: '=', Values: ['eu'] }],
    Tasks: [{ Name: 'main', Engine: { Type: 'wasm' }, Resources: { CPU: '1', Memory: '1gb' } }],
  })
  const times: number[] = []
  for (let i = 0; i < JOBS + 20; i++) {
    const sent = new Promise<void>((r) => (resolveSent = r))
    const t0 = performance.now()
    await orchestrator.submitJob({ job, force: false })
    await sent
    if (i >= 20) times.push(performance.now() - t0)
  }
  orchestrator.stop()
  times.sort((a, b) => a - b)
  const pct = (p: number) => Math.round(times[Math.ceil((p / 100) * times.length) - 1] * 100) / 100
  process.stdout.write(
    JSON.stringify({ nodes: NODES, jobs: JOBS, p50Ms: pct(50), p99Ms: pct(99), maxMs: pct(100) }, null, 2) +
      '\n',
  )
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
