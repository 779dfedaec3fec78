// IPFS transfer between two node processes, 100 MB.
//
// 1. Bitswap transfer: a child process runs the node's IPFS stack (libp2p host in a closed
//    network, Helia, our bitswap, on-disk blockstore) and adds the file; this process runs
//    the same stack and fetches the CID to a file exactly as an ipfs:// job input is staged
//    (src/ipfs/files.ts exportCid: blocks over bitswap into the blockstore, then the file).
//    Each run starts a fresh fetching node, so nothing is cached.
// 2. End to end through a devstack: `bacalhau data add` on the orchestrator, then the compute
//    node's GET /api/v1/ipfs/get/:cid, which stages the CID on its disk and streams it back
//    as a tar over HTTP (three processes on two cores: the figure includes the HTTP leg).
import '../src/polyfills.js'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { pino } from 'pino'
import { startIpfsNode } from '../src/ipfs/node.js'
import { exportCid, parseCid } from '../src/ipfs/files.js'
import { startDevstack } from '../src/devstack/launcher.js'
import { runCli } from '../test/helpers/node-process.js'

const SIZE = 100 * 1024 * 1024
const RUNS = 5
const TOKEN = 'bench-network-token'

function writeInput(file: string): void {
  const fd = fs.openSync(file, 'w')
  const chunk = Buffer.alloc(1024 * 1024)
  for (let i = 0; i < SIZE / chunk.length; i++) {
    chunk.fill(i & 0xff) // distinct blocks: identical chunks would deduplicate
    chunk.writeUInt32LE(i, 0)
    fs.writeSync(fd, chunk)
  }
  fs.closeSync(fd)
}

const mbps = (ms: number) => Math.round((SIZE / 1e6 / (ms / 1000)) * 10) / 10

async function bitswapTransfer(work: string, file: string) {
  const peerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ipfs-peer.js')
  const child = spawn(process.execPath, [peerScript, file, path.join(work, 'provider'), TOKEN], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let servingCpu = ''
  child.stderr.on('data', (d: Buffer) => (servingCpu += d.toString()))
  const first = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`provider exited with ${code}: ${servingCpu}`)))
    createInterface({ input: child.stdout }).once('line', resolve)
  })
  const { addr, cid } = JSON.parse(first) as { addr: string; cid: string }
  const runs: Array<{ ms: number; fetcherCpuMs: number }> = []
  try {
    for (let i = 0; i < RUNS; i++) {
      const dir = path.join(work, `fetcher-${i}`)
      const node = await startIpfsNode({
        privateKey: await generateKeyPair('Ed25519'),
        listen: ['/ip4/127.0.0.1/tcp/0'],
        token: TOKEN,
        logger: pino({ level: 'error' }),
        dataDir: dir,
      })
      try {
        await node.host.dial(multiaddr(addr))
        const cpu0 = process.cpuUsage()
        const t0 = performance.now()
        await exportCid(node.helia, parseCid(cid), path.join(dir, 'input.bin'), AbortSignal.timeout(120_000))
        const ms = performance.now() - t0
        const cpu = process.cpuUsage(cpu0)
        if (fs.statSync(path.join(dir, 'input.bin')).size !== SIZE) throw new Error('short transfer')
        runs.push({ ms: Math.round(ms), fetcherCpuMs: Math.round((cpu.user + cpu.system) / 1000) })
      } finally {
        await node.stop()
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }
  } finally {
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r))
  }
  const sorted = runs.map((r) => r.ms).sort((a, b) => a - b)
  return {
    runs,
    bestMBps: mbps(sorted[0]!),
    medianMBps: mbps(sorted[Math.floor(sorted.length / 2)]!),
    providerServingCpu: servingCpu.trim(),
  }
}

async function devstackTransfer(file: string) {
  const stack = await startDevstack({
    orchestrators: 1,
    computes: 1,
    hybrids: 0,
    config: ['Logging.Level=error'],
  })
  try {
    const add = await runCli(['data', 'add', file], { port: stack.nodes[0]!.apiPort, timeoutMs: 120_000 })
    if (add.code !== 0) throw new Error(add.stderr)
    const cid = add.stdout.trim().split('\n').at(-1)!
    const t0 = performance.now()
    const res = await fetch(`${stack.nodes[1]!.apiUrl}/api/v1/ipfs/get/${cid}`)
    if (!res.ok) throw new Error(await res.text())
    let bytes = 0
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) bytes += c.byteLength
    const ms = performance.now() - t0
    return { seconds: Math.round(ms) / 1000, tarBytes: bytes, MBps: mbps(ms) }
  } finally {
    await stack.stop()
    fs.rmSync(stack.baseDir, { recursive: true, force: true })
  }
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ipfs-'))
  const file = path.join(work, 'blob.bin')
  writeInput(file)
  try {
    const out = {
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model}, Node ${process.version}`,
      date: new Date().toISOString(),
      bytes: SIZE,
      bitswapTwoProcesses: await bitswapTransfer(work, file),
      devstackApiGet: await devstackTransfer(file),
    }
    process.stdout.write(JSON.stringify(out, null, 2) + '\n')
  } finally {
    fs.rmSync(work, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
