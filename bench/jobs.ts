// Submit-to-Completed latency and throughput of one hybrid node, measured from a
// separate client process over the REST API (the node is a real `node dist/node.js`).
//
// Latency: jobs submitted open-loop at a modest rate; each latency is the job's
// Completed ModifyTime (node wall clock, ns) minus the client's wall clock just before
// the PUT. Throughput: a burst of jobs with many submissions in flight; jobs/s =
// jobs / (last Completed time − first submit time).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseJson } from '../src/models/json.js'
import { agent, request, wallNowMs } from './http-client.js'
import { projectRoot } from '../src/util/paths.js'
import { startNodeProcess } from '../test/helpers/node-process.js'

interface Submitted {
  id: string
  submittedMs: number
}

async function submit(apiUrl: string, job: unknown): Promise<Submitted> {
  const body = JSON.stringify({ Job: job })
  const submittedMs = wallNowMs()
  const res = await request(apiUrl, 'PUT', '/api/v1/orchestrator/jobs', body)
  const parsed = JSON.parse(res.text) as { JobID: string; Message?: string }
  if (res.status !== 200) throw new Error(`submit failed: ${res.status} ${parsed.Message}`)
  return { id: parsed.JobID, submittedMs }
}

async function completedAtMs(
  apiUrl: string,
  ids: string[],
  timeoutMs = 120_000,
): Promise<Map<string, number>> {
  const done = new Map<string, number>()
  const end = Date.now() + timeoutMs
  while (done.size < ids.length) {
    if (Date.now() > end) throw new Error(`only ${done.size}/${ids.length} jobs completed`)
    const res = await request(apiUrl, 'GET', '/api/v1/orchestrator/jobs?order_by=modified_at')
    const body = parseJson(res.text) as {
      Items: Array<{ ID: string; State: { StateType: string }; ModifyTime: bigint }>
    }
    for (const j of body.Items) {
      if (j.State.StateType === 'Failed') throw new Error(`job ${j.ID} failed`)
      if (j.State.StateType === 'Completed' && !done.has(j.ID))
        done.set(j.ID, Number(BigInt(j.ModifyTime) / 1000n) / 1000)
    }
    if (done.size < ids.length) await new Promise((r) => setTimeout(r, 1000))
  }
  return done
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]

async function latency(apiUrl: string, job: () => unknown, count: number, ratePerS: number) {
  const subs: Submitted[] = []
  for (let i = 0; i < count; i++) {
    subs.push(await submit(apiUrl, job()))
    await new Promise((r) => setTimeout(r, 1000 / ratePerS))
  }
  const done = await completedAtMs(
    apiUrl,
    subs.map((s) => s.id),
  )
  const lat = subs.map((s) => done.get(s.id)! - s.submittedMs).sort((a, b) => a - b)
  return {
    jobs: count,
    ratePerS,
    p50Ms: round(pct(lat, 50)),
    p99Ms: round(pct(lat, 99)),
    maxMs: round(lat[lat.length - 1]),
  }
}

async function throughput(apiUrl: string, job: () => unknown, count: number, inFlight: number) {
  const subs: Submitted[] = []
  let next = 0
  const worker = async () => {
    while (next < count) {
      next++
      subs.push(await submit(apiUrl, job()))
    }
  }
  const start = wallNowMs()
  await Promise.all(Array.from({ length: inFlight }, worker))
  const submitSecs = (wallNowMs() - start) / 1000
  const done = await completedAtMs(
    apiUrl,
    subs.map((s) => s.id),
  )
  const last = Math.max(...done.values())
  const secs = (last - start) / 1000
  return {
    jobs: count,
    inFlight,
    seconds: round(secs),
    jobsPerS: Math.round(count / secs),
    submitSeconds: round(submitSecs),
  }
}

const round = (n: number) => Math.round(n * 10) / 10

async function main() {
  const quick = process.argv.includes('--quick')
  const hello = fs.readFileSync(path.join(projectRoot(), 'fixtures/wasm/hello.wasm'))
  const noopJob = () => ({ Type: 'batch', Count: 1, Tasks: [{ Name: 'main', Engine: { Type: 'noop' } }] })
  const wasmJob = () => ({
    Type: 'batch',
    Count: 1,
    Tasks: [
      {
        Name: 'main',
        Engine: { Type: 'wasm', Params: { EntryModule: '/app/hello.wasm', Entrypoint: '_start' } },
        InputSources: [
          {
            Target: '/app/hello.wasm',
            Source: {
              Type: 'inline',
              Params: { URL: `data:application/wasm;base64,${hello.toString('base64')}` },
            },
          },
        ],
      },
    ],
  })
  const results: Record<string, unknown> = {
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    date: new Date().toISOString(),
  }
  // Separate nodes so one measurement's store does not weigh on the next.
  for (const [name, run] of [
    ['noopLatency', (u: string) => latency(u, noopJob, quick ? 100 : 500, 50)],
    ['noopThroughput', (u: string) => throughput(u, noopJob, quick ? 1000 : 5000, 64)],
    ['wasmLatency', (u: string) => latency(u, wasmJob, quick ? 30 : 100, 10)],
  ] as const) {
    const node = await startNodeProcess({ args: ['-c', 'Logging.Level=error'] })
    try {
      results[name] = await run(node.apiUrl)
    } finally {
      await node.stop()
      fs.rmSync(node.dataDir, { recursive: true, force: true })
    }
    console.error(name, JSON.stringify(results[name]))
  }
  agent.destroy()
  process.stdout.write(JSON.stringify(results, null, 2) + '\n')
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
