// Every example job file runs unchanged through `bacalhau job run`, as YAML and as JSON.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { projectRoot } from '../../src/util/paths.js'
import { api, runCli, startNodeProcess, type NodeProcess } from '../helpers/node-process.js'

const dir = path.join(projectRoot(), 'examples')
const files = fs
  .readdirSync(dir)
  .filter((f) => /\.(ya?ml|json)$/.test(f))
  .sort()

describe('example job files through the CLI', () => {
  let node: NodeProcess
  before(async () => {
    node = await startNodeProcess()
  })
  after(async () => {
    await node.stop()
    fs.rmSync(node.dataDir, { recursive: true, force: true })
  })

  it('has examples for the wasm and noop engines', () => {
    assert.ok(files.length >= 10)
  })

  for (const file of files) {
    it(`bacalhau job run examples/${file}`, async () => {
      const r = await runCli(['job', 'run', '--force', '--id-only', path.join(dir, file)], {
        port: node.port,
      })
      assert.equal(r.code, 0, r.stderr)
      const id = r.stdout.trim()
      assert.match(id, /^j-/)
      const job = await api(node, 'GET', `/api/v1/orchestrator/jobs/${id}?include=executions`)
      assert.equal(job.body.Job.State.StateType, 'Completed')
      for (const e of job.body.Executions.Items) assert.equal(e.ComputeState.StateType, 9)
    })
  }
})
