// urlDownload inputs on a real node: a job reads a file served by a real HTTP server, and
// a missing file fails the job with a message that names the URL and the status.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { projectRoot } from '../../src/util/paths.js'
import { api, runCli, startNodeProcess, waitForJobState, type NodeProcess } from '../helpers/node-process.js'

describe('urlDownload inputs', () => {
  let node: NodeProcess
  let server: http.Server
  let base = ''
  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/data/words.txt') {
        res.setHeader('content-type', 'text/plain')
        res.end('alpha\nbeta\ngamma\n')
      } else {
        res.statusCode = 404
        res.end('not here')
      }
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
    node = await startNodeProcess()
  })
  after(async () => {
    await node.stop()
    fs.rmSync(node.dataDir, { recursive: true, force: true })
    server.close()
  })

  it('mounts the downloaded file at Target/<filename> for the job to read', async () => {
    const cat = path.join(projectRoot(), 'fixtures/wasm/cat.wasm')
    const r = await runCli(
      ['wasm', 'run', '--id-only', '-i', `src=${base}/data/words.txt,dst=/inputs`, cat, '/inputs/words.txt'],
      {
        port: node.port,
      },
    )
    assert.equal(r.code, 0, r.stderr)
    const execs = await api(node, 'GET', `/api/v1/orchestrator/jobs/${r.stdout.trim()}/executions`)
    assert.equal(execs.body.Items[0].RunOutput.Stdout, 'alpha\nbeta\ngamma\n')
  })

  it('fails the job with the URL and the HTTP status when the file is missing', async () => {
    const res = await api(node, 'PUT', '/api/v1/orchestrator/jobs', {
      Job: {
        Type: 'batch',
        Name: 'missing-url',
        Tasks: [
          {
            Name: 'main',
            Engine: { Type: 'noop' },
            InputSources: [
              { Target: '/inputs', Source: { Type: 'urlDownload', Params: { URL: `${base}/nope.txt` } } },
            ],
          },
        ],
      },
    })
    const job = await waitForJobState(node, res.body.JobID, ['Failed', 'Completed'])
    assert.equal(job.State.StateType, 'Failed')
    const execs = await api(node, 'GET', `/api/v1/orchestrator/jobs/${res.body.JobID}/executions`)
    assert.match(execs.body.Items[0].ComputeState.Message, new RegExp(`${base}/nope.txt.*404`))
  })
})
