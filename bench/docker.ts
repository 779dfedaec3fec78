// End-to-end wall time of a `busybox true` job on a devstack (1 orchestrator + 2 compute
// processes) against a plain `docker run --rm busybox true` on the same machine, measured
// in one run. Job time = submit (client clock, just before the PUT) → Completed
// (orchestrator's ModifyTime); docker time = spawn → exit of the docker CLI.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import { startDevstack } from '../src/devstack/launcher.js'
import { parseJson } from '../src/models/json.js'
import { agent, request, wallNowMs } from './http-client.js'

const IMAGE = 'busybox:1.37.0'
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const round = (n: number) => Math.round(n * 10) / 10

async function jobMs(api: string): Promise<number> {
  const body = JSON.stringify({
    Job: {
      Type: 'batch',
      Count: 1,
      Tasks: [{ Name: 'main', Engine: { Type: 'docker', Params: { Image: IMAGE, Parameters: ['true'] } } }],
    },
  })
  const t0 = wallNowMs()
  const r = await request(api, 'PUT', '/api/v1/orchestrator/jobs', body)
  if (r.status !== 200) throw new Error(r.text)
  const id = (JSON.parse(r.text) as { JobID: string }).JobID
  for (;;) {
    const j = parseJson((await request(api, 'GET', `/api/v1/orchestrator/jobs/${id}`)).text) as {
      Job: { State: { StateType: string; Message?: string }; ModifyTime: bigint }
    }
    if (j.Job.State.StateType === 'Completed') return Number(BigInt(j.Job.ModifyTime) / 1000n) / 1000 - t0
    if (j.Job.State.StateType === 'Failed') throw new Error(`job failed: ${j.Job.State.Message}`)
    await new Promise((res) => setTimeout(res, 5))
  }
}

function dockerMs(): number {
  const t0 = performance.now()
  const r = spawnSync('/usr/bin/docker', ['run', '--rm', IMAGE, 'true'])
  if (r.status !== 0) throw new Error(`docker run failed: ${r.stderr}`)
  return performance.now() - t0
}

async function main() {
  const reps = process.argv.includes('--quick') ? 5 : 15
  const stack = await startDevstack({
    orchestrators: 1,
    computes: 2,
    hybrids: 0,
    config: ['Logging.Level=error'],
  })
  try {
    const api = stack.nodes[0].apiUrl
    await jobMs(api) // warm-up: first container start and module loading
    dockerMs()
    const jobs: number[] = []
    const docker: number[] = []
    // Interleaved, so both see the same machine state.
    for (let i = 0; i < reps; i++) {
      jobs.push(await jobMs(api))
      docker.push(dockerMs())
    }
    const out = {
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model}, Node ${process.version}`,
      date: new Date().toISOString(),
      reps,
      jobMedianMs: round(median(jobs)),
      dockerRunMedianMs: round(median(docker)),
      ratio: Math.round((median(jobs) / median(docker)) * 100) / 100,
    }
    process.stdout.write(JSON.stringify(out, null, 2) + '\n')
  } finally {
    await stack.stop()
    fs.rmSync(stack.baseDir, { recursive: true, force: true })
    agent.destroy()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
