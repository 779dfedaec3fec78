// A local cluster of separate node processes (bacalhau-behaviour.md §6): orchestrators,
// hybrids and compute nodes, each with its own data dir and ports, joined into one
// private network by a freshly generated token.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export interface DevstackOptions {
  orchestrators: number
  computes: number
  hybrids: number
  /** Base folder for node data dirs (node-<i>); a temp folder when empty. */
  stackRepo?: string
  /** First API port 20000 and the next ones after it, instead of free ports. */
  predictablePorts?: boolean
  /** Extra `-c` values for every node (the user's, applied last). */
  config?: string[]
  /** How long to wait for the cluster to form. */
  readyTimeoutMs?: number
  env?: NodeJS.ProcessEnv
}

export interface DevNode {
  index: number
  name: string
  role: 'orchestrator' | 'hybrid' | 'compute'
  dataDir: string
  apiUrl: string
  apiPort: number
  /** libp2p port compute nodes join (orchestrators only). */
  networkPort?: number
  process: ChildProcess
  logFile: string
}

export interface Devstack {
  nodes: DevNode[]
  baseDir: string
  token: string
  /** The first node's API. */
  apiHost: string
  apiPort: number
  /** When every process answered its API, and when every orchestrator saw every compute node (ms epoch). */
  timings: { processesUp: number; converged: number }
  stop(): Promise<void>
}

const NODE_ENTRY = fileURLToPath(new URL('../node.js', import.meta.url))
export const PREDICTABLE_FIRST_API_PORT = 20000

/** Settings Bacalhau's devstack uses instead of production defaults (faster liveness). */
const devstackProfile = [
  'Orchestrator.NodeManager.DisconnectTimeout=30s',
  'Orchestrator.Scheduler.HousekeepingInterval=1s',
  'Compute.Heartbeat.Interval=5s',
  'Compute.Env.AllowList=TEST_*',
  'Publishers.Types.Local.Port=0',
]

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })
}

function waitForApi(node: DevNode, output: () => string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${node.name} did not start within ${timeoutMs / 1000}s; see ${node.logFile}`)),
      timeoutMs,
    )
    const check = () => {
      const m = /API listening on (http:\/\/\S+)/.exec(output())
      if (m) {
        clearTimeout(timer)
        resolve(m[1])
      }
    }
    node.process.stdout!.on('data', check)
    node.process.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${node.name} exited with code ${code} while starting; see ${node.logFile}`))
    })
    check()
  })
}

async function waitForComputes(apiUrl: string, expected: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs
  let seen = 0
  while (Date.now() < end) {
    try {
      const res = await fetch(`${apiUrl}/api/v1/orchestrator/nodes?filter-status=connected`)
      const body = (await res.json()) as { Nodes: Array<{ Info: { NodeType: string } }> }
      seen = body.Nodes.filter((n) => n.Info.NodeType === 'Compute').length
      if (seen >= expected) return
    } catch {
      /* not answering yet */
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(
    `the orchestrator at ${apiUrl} sees ${seen} of ${expected} compute nodes after ${timeoutMs / 1000}s`,
  )
}

export async function startDevstack(opts: DevstackOptions): Promise<Devstack> {
  const total = opts.orchestrators + opts.computes + opts.hybrids
  if (total <= 0) throw new Error('devstack needs at least one node')
  if (opts.orchestrators + opts.hybrids === 0)
    throw new Error('cannot add compute node: no orchestrators found')
  for (const [k, v] of Object.entries({
    orchestrators: opts.orchestrators,
    computes: opts.computes,
    hybrids: opts.hybrids,
  }))
    if (!Number.isInteger(v) || v < 0) throw new Error(`--${k} must be a non-negative integer, got ${v}`)
  const baseDir = opts.stackRepo
    ? path.resolve(opts.stackRepo)
    : fs.mkdtempSync(path.join(os.tmpdir(), 'bacalhau-devstack-'))
  fs.mkdirSync(baseDir, { recursive: true })
  const token = randomBytes(24).toString('base64url')
  const timeoutMs = opts.readyTimeoutMs ?? 60_000
  const nodes: DevNode[] = []
  const outputs: string[] = []
  const timings = { processesUp: 0, converged: 0 }

  const stop = async () => {
    await Promise.all(
      nodes.map(
        (n) =>
          new Promise<void>((resolve) => {
            if (n.process.exitCode !== null || n.process.signalCode !== null) return resolve()
            const kill = setTimeout(() => n.process.kill('SIGKILL'), 10_000)
            n.process.once('exit', () => {
              clearTimeout(kill)
              resolve()
            })
            n.process.kill('SIGTERM')
          }),
      ),
    )
  }

  const spawnNode = async (
    index: number,
    role: DevNode['role'],
    orchestratorAddrs: string[],
  ): Promise<DevNode> => {
    const name = `node-${index}`
    const dataDir = path.join(baseDir, name)
    fs.mkdirSync(dataDir, { recursive: true })
    const apiPort = opts.predictablePorts ? PREDICTABLE_FIRST_API_PORT + index : 0
    const networkPort = role === 'compute' ? undefined : await freePort()
    const args = [
      NODE_ENTRY,
      '--role',
      role,
      '--name',
      name,
      '--data-dir',
      dataDir,
      '--api-port',
      String(apiPort),
      ...devstackProfile.flatMap((c) => ['-c', c]),
      '-c',
      `Labels=id=${name},name=${name},env=devstack`,
      '-c',
      `Orchestrator.Auth.Token=${token}`,
      '-c',
      `Compute.Auth.Token=${token}`,
    ]
    if (networkPort !== undefined)
      args.push('-c', 'Orchestrator.Host=127.0.0.1', '-c', `Orchestrator.Port=${networkPort}`)
    if (role === 'compute') args.push('-c', `Compute.Orchestrators=${orchestratorAddrs.join(',')}`)
    for (const c of opts.config ?? []) args.push('-c', c)
    const logFile = path.join(dataDir, 'node.log')
    const log = fs.createWriteStream(logFile)
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    outputs[index] = ''
    child.stdout!.on('data', (d) => {
      outputs[index] += d
      log.write(d)
    })
    child.stderr!.on('data', (d) => log.write(d))
    child.once('exit', () => log.end())
    const node: DevNode = {
      index,
      name,
      role,
      dataDir,
      apiUrl: '',
      apiPort,
      networkPort,
      process: child,
      logFile,
    }
    nodes.push(node)
    node.apiUrl = await waitForApi(node, () => outputs[index], timeoutMs)
    node.apiPort = Number(new URL(node.apiUrl).port)
    return node
  }

  try {
    let index = 0
    const orchestratorNodes: DevNode[] = []
    for (let i = 0; i < opts.orchestrators; i++)
      orchestratorNodes.push(await spawnNode(index++, 'orchestrator', []))
    for (let i = 0; i < opts.hybrids; i++) orchestratorNodes.push(await spawnNode(index++, 'hybrid', []))
    const addrs = orchestratorNodes.map((n) => `127.0.0.1:${n.networkPort}`)
    await Promise.all(Array.from({ length: opts.computes }, () => spawnNode(index++, 'compute', addrs)))
    nodes.sort((a, b) => a.index - b.index)
    timings.processesUp = Date.now()
    // Ready means every orchestrator can schedule on every compute node.
    const expectedComputes = opts.computes + opts.hybrids
    await Promise.all(orchestratorNodes.map((o) => waitForComputes(o.apiUrl, expectedComputes, timeoutMs)))
    timings.converged = Date.now()
  } catch (err) {
    await stop()
    throw err
  }
  const first = nodes[0]
  return { nodes, baseDir, token, apiHost: '0.0.0.0', apiPort: first.apiPort, timings, stop }
}

/** The banner Bacalhau prints once a devstack is up (bacalhau-behaviour.md §6). */
export function devstackBanner(opts: DevstackOptions, stack: Devstack): string {
  return (
    `\nDevstack is ready!\n` +
    `No. of requester only nodes: ${opts.orchestrators}\n` +
    `No. of compute only nodes: ${opts.computes}\n` +
    `No. of hybrid nodes: ${opts.hybrids}\n` +
    `To use the devstack, run the following commands in your shell:\n\n` +
    `export BACALHAU_API_HOST=${stack.apiHost}\n` +
    `export BACALHAU_API_PORT=${stack.apiPort}\n\n\n`
  )
}
