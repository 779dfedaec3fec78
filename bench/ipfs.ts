// IPFS transfer between two node processes: 100 MB added to the orchestrator's embedded
// IPFS node, then fetched by a compute node over bitswap (through its /api/v1/ipfs/get,
// which writes the file to disk and streams it back as a tar). Throughput = bytes / time
// of that fetch.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startDevstack } from '../src/devstack/launcher.js'
import { runCli } from '../test/helpers/node-process.js'

const SIZE = 100 * 1024 * 1024

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ipfs-'))
  const file = path.join(work, 'blob.bin')
  const fd = fs.openSync(file, 'w')
  const chunk = Buffer.alloc(1024 * 1024)
  for (let i = 0; i < SIZE / chunk.length; i++) {
    chunk.fill(i & 0xff) // distinct blocks: identical chunks would deduplicate
    chunk.writeUInt32LE(i, 0)
    fs.writeSync(fd, chunk)
  }
  fs.closeSync(fd)
  const stack = await startDevstack({
    orchestrators: 1,
    computes: 1,
    hybrids: 0,
    config: ['Logging.Level=error'],
  })
  try {
    const add = await runCli(['data', 'add', file], { port: stack.nodes[0].apiPort, timeoutMs: 120_000 })
    if (add.code !== 0) throw new Error(add.stderr)
    const cid = add.stdout.trim().split('\n').at(-1)!
    const t0 = performance.now()
    const res = await fetch(`${stack.nodes[1].apiUrl}/api/v1/ipfs/get/${cid}`)
    if (!res.ok) throw new Error(await res.text())
    let bytes = 0
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) bytes += c.byteLength
    const ms = performance.now() - t0
    const out = {
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model}, Node ${process.version}`,
      date: new Date().toISOString(),
      bytes: SIZE,
      tarBytes: bytes,
      seconds: Math.round(ms) / 1000,
      MBps: Math.round((SIZE / 1e6 / (ms / 1000)) * 10) / 10,
    }
    process.stdout.write(JSON.stringify(out, null, 2) + '\n')
  } finally {
    await stack.stop()
    fs.rmSync(stack.baseDir, { recursive: true, force: true })
    fs.rmSync(work, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
