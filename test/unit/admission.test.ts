import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { noopJob, startCluster, type TestCluster } from '../helpers/cluster.js'

describe('admission control', () => {
  let c: TestCluster
  let probeServer: http.Server
  const seen: any[] = []
  before(async () => {
    probeServer = http.createServer((req, res) => {
      let body = ''
      req.on('data', (d) => (body += d))
      req.on('end', () => {
        const job = JSON.parse(body).Job
        seen.push(job)
        const ok = job.Labels?.http === 'yes'
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ ShouldBid: ok, Reason: ok ? '' : 'http probe says no' }))
      })
    })
    await new Promise<void>((r) => probeServer.listen(0, '127.0.0.1', r))
    const port = (probeServer.address() as { port: number }).port
    c = await startCluster({
      configure: (cfg) => {
        cfg.JobAdmissionControl.ProbeExec =
          'd=$(cat); case "$d" in *allowme*) exit 0;; *) echo "label allowme missing" >&2; exit 1;; esac'
        cfg.JobAdmissionControl.ProbeHTTP = `http://127.0.0.1:${port}/probe`
        cfg.JobAdmissionControl.RejectStatelessJobs = false
      },
    })
  })
  after(async () => {
    await c.stop()
    probeServer.close()
  })

  it('bids when both probes accept', async () => {
    const id = await c.submit(noopJob({ Labels: { allowme: '1', http: 'yes' } }))
    const job = await c.waitForState(id, ['Completed', 'Failed'])
    assert.equal(job.State.StateType, 'Completed')
    assert.equal(seen.at(-1).ID, id)
  })

  it('rejects with the exec probe’s stderr as the reason', async () => {
    const id = await c.submit(noopJob({ Labels: { http: 'yes' } }))
    const job = await c.waitForState(id, ['Completed', 'Failed'])
    assert.equal(job.State.StateType, 'Failed')
    const exec = c.orchestrator.jobExecutions(id, {}).Items[0]
    assert.equal(exec.ComputeState.StateType, 4)
    assert.match(exec.ComputeState.Message ?? '', /this node does not accept this job: label allowme missing/)
  })

  it('rejects with the HTTP probe’s reason', async () => {
    const id = await c.submit(noopJob({ Labels: { allowme: '1' } }))
    await c.waitForState(id, ['Completed', 'Failed'])
    const exec = c.orchestrator.jobExecutions(id, {}).Items[0]
    assert.match(exec.ComputeState.Message ?? '', /http probe says no/)
  })
})

describe('networked jobs', () => {
  let c: TestCluster
  before(async () => {
    c = await startCluster()
  })
  after(() => c.stop())

  it('are refused unless the node accepts networked jobs', async () => {
    const id = await c.submit({
      Type: 'batch',
      Tasks: [{ Name: 't', Engine: { Type: 'noop' }, Network: { Type: 'Host' } }],
    })
    await c.waitForState(id, ['Failed', 'Completed'])
    const exec = c.orchestrator.jobExecutions(id, {}).Items[0]
    assert.match(exec.ComputeState.Message ?? '', /does not accept networked jobs/)
  })
})
