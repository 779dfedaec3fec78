// Cross-process figures on a devstack of separate node processes joined over libp2p:
// NodeInfo convergence for 3, 10 and 30 processes, and noop submit→Completed latency and
// throughput through one orchestrator with two compute processes.
import fs from 'node:fs'
import os from 'node:os'
import { startDevstack } from '../src/devstack/launcher.js'
import { parseJson } from '../src/models/json.js'
import { agent, request, wallNowMs } from './http-client.js'

const noop = JSON.stringify({
  Job: { Type: 'batch', Count: 1, Tasks: [{ Name: 'main', Engine: { Type: 'noop' } }] },
})

async function submit(apiUrl: string) {
  const t = wallNowMs()
  const r = await request(apiUrl, 'PUT', '/api/v1/orchestrator/jobs', noop)
  if (r.status !== 200) throw new Error(`submit failed: ${r.text}`)
  return { id: (JSON.parse(r.text) as { JobID: string }).JobID, t }
}

async function completions(apiUrl: string, count: number): Promise<Map<string, number>> {
  const end = Date.now() + 120_000
  for (;;) {
    const r = await request(apiUrl, 'GET', '/api/v1/orchestrator/jobs')
    const body = parseJson(r.text) as {
      Items: Array<{ ID: string; State: { StateType: string }; ModifyTime: bigint }>
    }
    const done = new Map<string, number>()
    for (const j of body.Items) {
      if (j.State.StateType === 'Failed') throw new Error(`job ${j.ID} failed`)
      if (j.State.StateType === 'Completed') done.set(j.ID, Number(BigInt(j.ModifyTime) / 1000n) / 1000)
    }
    if (done.size >= count) return done
    if (Date.now() > end) throw new Error(`only ${done.size}/${count} completed`)
    await new Promise((res) => setTimeout(res, 500))
  }
}

const round = (n: number) => Math.round(n * 10) / 10
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]

async function main() {
  const quick = process.argv.includes('--quick')
  const out: Record<string, unknown> = {
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    date: new Date().toISOString(),
  }
  for (const n of quick ? [3, 10] : [3, 10, 30]) {
    const stack = await startDevstack({
      orchestrators: 1,
      computes: n - 1,
      hybrids: 0,
      readyTimeoutMs: 180_000,
      config: ['Logging.Level=error'],
    })
    out[`convergence${n}`] = { processes: n, ms: stack.timings.converged - stack.timings.processesUp }
    console.error(`convergence ${n}:`, JSON.stringify(out[`convergence${n}`]))
    await stack.stop()
    fs.rmSync(stack.baseDir, { recursive: true, force: true })
  }
  const stack = await startDevstack({
    orchestrators: 1,
    computes: 2,
    hybrids: 0,
    config: ['Logging.Level=error'],
  })
  try {
    const api = stack.nodes[0].apiUrl
    const latCount = quick ? 100 : 300
    const subs = []
    for (let i = 0; i < latCount; i++) {
      subs.push(await submit(api))
      await new Promise((r) => setTimeout(r, 20))
    }
    const done = await completions(api, latCount)
    const lat = subs.map((s) => done.get(s.id)! - s.t).sort((a, b) => a - b)
    out.devstackNoopLatency = {
      jobs: latCount,
      ratePerS: 50,
      p50Ms: round(pct(lat, 50)),
      p99Ms: round(pct(lat, 99)),
    }
    console.error('latency', JSON.stringify(out.devstackNoopLatency))
    const tpCount = quick ? 1000 : 3000
    let next = 0
    const start = wallNowMs()
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < tpCount) {
          next++
          await submit(api)
        }
      }),
    )
    const all = await completions(api, latCount + tpCount)
    const last = Math.max(...all.values())
    out.devstackNoopThroughput = {
      jobs: tpCount,
      inFlight: 64,
      seconds: round((last - start) / 1000),
      jobsPerS: Math.round(tpCount / ((last - start) / 1000)),
    }
    console.error('throughput', JSON.stringify(out.devstackNoopThroughput))
  } finally {
    await stack.stop()
    fs.rmSync(stack.baseDir, { recursive: true, force: true })
    agent.destroy()
  }
  process.stdout.write(JSON.stringify(out, null, 2) + '\n')
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
