// Wires one node from its configuration: stores, transport, orchestrator and/or compute,
// publishers and the REST API, and takes them down again in reverse order.
import fs from 'node:fs'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import type { Config } from '../config/types.js'
import { parseDuration } from '../config/types.js'
import { ApiServer } from '../api/server.js'
import { ComputeNode } from '../compute/compute-node.js'
import { allocatedCapacity, hostTotals } from '../compute/capacity.js'
import { ExecutionStore } from '../compute/store.js'
import { allocatedGpuCount, detectGpus, gpuLabels, selectGpus } from '../compute/gpu/index.js'
import { NoopExecutor } from '../executors/noop/index.js'
import type { Executor } from '../executors/types.js'
import { WasmExecutor } from '../executors/wasm/index.js'
import { DockerExecutor } from '../executors/docker/index.js'
import { emptyComputeNodeInfo, type NodeInfo } from '../models/node.js'
import { buildVersionInfo } from '../models/version.js'
import { NodeManager } from '../orchestrator/nodes.js'
import { Orchestrator } from '../orchestrator/orchestrator.js'
import { JobStore } from '../orchestrator/store.js'
import { PublisherRegistry } from '../publishers/registry.js'
import { StorageRegistry } from '../storage/registry.js'
import { openDatabase, type Db } from '../store/sqlite.js'
import { InProcessNetwork } from '../transport/in-process.js'
import { compositeOrchestratorTransport } from '../transport/composite.js'
import { Libp2pTransport } from '../transport/libp2p.js'
import { startIpfsNode } from '../ipfs/node.js'
import { addPath, exportCid, parseCid } from '../ipfs/files.js'
import { scope } from '../network/scope.js'
import { IpfsStorage } from '../storage/ipfs/index.js'
import { IpfsPublisher } from '../publishers/ipfs/index.js'
import { loadOrCreateIdentity } from '../network/identity.js'
import { networkToken } from './token.js'
import { createLogger, type Logger } from '../util/logger.js'
import { loadOrCreateMetadata } from './metadata.js'

export interface RunningNode {
  nodeId: string
  apiUrl: string
  orchestrator?: Orchestrator
  compute?: ComputeNode
  stop(): Promise<void>
}

export interface StartNodeOptions {
  logger?: Logger
  /** Node name used on first start only (bacalhau serve --name). */
  name?: string
  /** Extra executors, e.g. from tests; the built-in ones are always registered. */
  executors?: Executor[]
}

export async function startNode(config: Config, opts: StartNodeOptions = {}): Promise<RunningNode> {
  const log = opts.logger ?? createLogger({ level: config.Logging.Level })
  const dataDir = path.resolve(config.DataDir)
  fs.mkdirSync(dataDir, { recursive: true })
  const meta = loadOrCreateMetadata(dataDir, config.NameProvider, opts.name)
  const nodeId = meta.NodeName
  const isOrchestrator = config.Orchestrator.Enabled || !config.Compute.Enabled
  const isCompute = config.Compute.Enabled
  const inMemory = config.Store.Type === 'memory'
  const dbs: Db[] = []
  const open = (role: string) => {
    const db = openDatabase(inMemory ? ':memory:' : path.join(dataDir, role, 'state.db'))
    dbs.push(db)
    return db
  }
  const cleanups: Array<() => Promise<void> | void> = []
  const stopAll = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c()
      } catch (err) {
        log.warn({ err }, 'error during shutdown')
      }
    }
    cleanups.length = 0
    for (const db of dbs) {
      // Group commit may hold the last turn's writes: make them durable before closing.
      if (db.inTransaction) db.exec('COMMIT')
      db.close()
    }
    dbs.length = 0
  }

  try {
    const network = new InProcessNetwork()
    // Every node is a libp2p peer. Orchestrators listen where compute nodes join them;
    // compute-only nodes dial their orchestrators and keep those connections up.
    const { privateKey } = await loadOrCreateIdentity(dataDir)
    const token = isOrchestrator ? networkToken(config, dataDir, log) : config.Compute.Auth.Token
    const listen = isOrchestrator
      ? [`/ip4/${config.Orchestrator.Host}/tcp/${config.Orchestrator.Port}`]
      : ['/ip4/0.0.0.0/tcp/0']
    const ipfs = await startIpfsNode({
      privateKey,
      listen,
      token: token || undefined,
      logger: log,
      dataDir: inMemory ? undefined : dataDir,
    })
    const host = ipfs.host
    cleanups.push(() => ipfs.stop())
    const p2p = new Libp2pTransport({
      host,
      logger: log,
      // A hybrid node's compute side talks to its own orchestrator in-process.
      roles: { orchestrator: isOrchestrator, compute: isCompute && !isOrchestrator },
      localNodeId: nodeId,
      orchestrators: isCompute && !isOrchestrator ? config.Compute.Orchestrators : [],
      // Rejoin quickly: a compute node is useless while it is not connected.
      reconnectInitialMs: 250,
      reconnectMaxMs: 5_000,
    })
    let orchestrator: Orchestrator | undefined
    let compute: ComputeNode | undefined
    let publishers: PublisherRegistry | undefined

    const selfInfo = (): NodeInfo =>
      compute?.nodeInfo() ?? {
        NodeID: nodeId,
        NodeType: 'Requester',
        Labels: { ...config.Labels },
        SupportedProtocols: ['cod/compute/1.0.0'],
        ComputeNodeInfo: emptyComputeNodeInfo(),
        BacalhauVersion: buildVersionInfo(),
      }

    if (isOrchestrator) {
      const store = new JobStore(open('orchestrator'))
      const nodes = new NodeManager(selfInfo(), {
        manualApproval: config.Orchestrator.NodeManager.ManualApproval,
        disconnectTimeoutMs: parseDuration(config.Orchestrator.NodeManager.DisconnectTimeout),
        persistence: {
          load: () => store.loadNodes(),
          save: (id, bootId, state) => store.saveNode(id, bootId, state),
          remove: (id) => store.deleteNode(id),
        },
        // A deleted node may come back with a new identity (a wiped data dir).
        onDelete: (id) => p2p.forgetNode(id),
      })
      orchestrator = new Orchestrator({
        nodeId,
        store,
        nodes,
        transport: isCompute
          ? compositeOrchestratorTransport(nodeId, network.orchestrator, p2p.orchestrator)
          : p2p.orchestrator,
        config,
        logger: log,
        installationId: meta.InstanceID,
        instanceId: randomUUID(),
      })
      orchestrator.start()
      const o = orchestrator
      cleanups.push(() => o.stop())
    }

    if (isCompute) {
      publishers = new PublisherRegistry({
        local: {
          address: config.Publishers.Types.Local.Address,
          port: config.Publishers.Types.Local.Port,
          storageDir: path.join(dataDir, 'compute', 'results', 'local-publisher'),
        },
        disabled: config.Publishers.Disabled,
      })
      await publishers.startAll()
      const p = publishers
      cleanups.push(() => p.stopAll())
      const gpus = await detectGpus({ logger: log.child({ component: 'gpu' }) })
      const maxCapacity = allocatedCapacity(
        { ...hostTotals(dataDir), GPU: gpus.length },
        config.Compute.AllocatedCapacity,
      )
      maxCapacity.GPU = allocatedGpuCount(config.Compute.AllocatedCapacity.GPU, gpus.length)
      if (maxCapacity.GPU > 0) maxCapacity.GPUs = selectGpus(gpus, maxCapacity.GPU)
      const storage = new StorageRegistry({
        allowListedLocalPaths: config.Compute.AllowListedLocalPaths,
        disabled: config.InputSources.Disabled,
        url: {
          readTimeoutMs: parseDuration(config.InputSources.ReadTimeout),
          maxRetries: config.InputSources.MaxRetryCount,
          maxBytes: maxCapacity.Disk,
          logger: log.child({ component: 'urldownload' }),
        },
      })
      if (!config.InputSources.Disabled.some((d) => d.toLowerCase() === 'ipfs'))
        storage.register(
          new IpfsStorage(ipfs.helia, {
            timeoutMs: parseDuration(config.InputSources.ReadTimeout),
            maxBytes: maxCapacity.Disk,
          }),
        )
      if (!config.Publishers.Disabled.some((d) => d.toLowerCase() === 'ipfs'))
        publishers.register(new IpfsPublisher(ipfs.helia))
      const disabledEngines = new Set(config.Engines.Disabled.map((e) => e.toLowerCase()))
      const wasm = new WasmExecutor()
      cleanups.push(() => wasm.close())
      // Container labels carry the data dir's instance ID too: two nodes with the same name
      // (two devstacks on one engine) must never clean up each other's containers.
      const docker = new DockerExecutor({ nodeId: `${nodeId}-${meta.InstanceID.slice(0, 8)}`, logger: log })
      if (!disabledEngines.has('docker') && (await docker.isInstalled())) {
        // Containers a previous run of this node left behind are removed before new work.
        await docker.start()
        cleanups.push(() => docker.close())
      }
      const executors = [wasm, docker, new NoopExecutor(), ...(opts.executors ?? [])].filter(
        (e) => !disabledEngines.has(e.name),
      )
      compute = new ComputeNode({
        nodeId,
        nodeType: 'Compute',
        config,
        dataDir,
        store: new ExecutionStore(open('compute')),
        transport: isOrchestrator ? network.connectCompute(nodeId) : p2p.compute,
        executors,
        storage,
        publishers,
        maxCapacity,
        extraLabels: gpuLabels(gpus),
        logger: log,
      })
      const c = compute
      cleanups.push(() => c.stop())
    }
    // Handlers are registered: start serving the network, then announce the compute side.
    await p2p.start()
    cleanups.push(() => p2p.stop())
    if (compute) await compute.start()

    const api = new ApiServer({
      host: config.API.Host,
      port: config.API.Port,
      logger: log,
      orchestrator,
      ipfs: {
        add: async (hostPath) =>
          (
            await addPath(ipfs.helia, hostPath, (err) =>
              log.debug({ err: err.message }, 'could not announce added data to the DHT'),
            )
          ).toString(),
        get: async (cid, dest, signal) => {
          // Released as soon as the export ends, so nothing aborts Helia's work afterwards.
          const sc = scope({ timeoutMs: parseDuration(config.InputSources.ReadTimeout), parents: [signal] })
          try {
            await exportCid(ipfs.helia, parseCid(cid), dest, sc.signal)
          } catch (e) {
            throw new Error(
              sc.timedOut()
                ? `CID ${cid} not found on any reachable peer`
                : `CID ${cid}: ${(e as Error).message}`,
            )
          } finally {
            sc.dispose()
          }
        },
      },
      agent: {
        nodeInfo: selfInfo,
        // The API masks secrets (routes/agent.ts) before answering.
        config: () => config,
      },
    })
    await api.start()
    cleanups.push(() => api.stop())

    const runFile = process.env.DEVSTACK_ENV_FILE || path.join(dataDir, 'bacalhau.run')
    const apiHost = config.API.Host === '0.0.0.0' ? '127.0.0.1' : config.API.Host
    fs.writeFileSync(runFile, `export BACALHAU_API_HOST=${apiHost}\nexport BACALHAU_API_PORT=${api.port()}\n`)
    cleanups.push(() => fs.rmSync(runFile, { force: true }))

    log.info(
      { nodeId, api: api.url(), orchestrator: isOrchestrator, compute: isCompute, dataDir },
      'node started',
    )
    return { nodeId, apiUrl: api.url(), orchestrator, compute, stop: stopAll }
  } catch (err) {
    await stopAll()
    throw err
  }
}
