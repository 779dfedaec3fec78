// HTTP-level behaviour of the REST API that a real node cannot easily be made to produce:
// error mapping, query binding, status quirks, headers, bigint output and WebSocket framing.
// The orchestrator here is a recording stand-in; assertions are on what goes over the wire.
import assert from 'node:assert/strict'
import http from 'node:http'
import { after, before, describe, it } from 'node:test'
import { pino } from 'pino'
import { WebSocket } from 'ws'
import { ApiServer, type AgentApi, type ApiServerOptions } from '../../src/api/server.js'
import { BacalhauError, notFound } from '../../src/models/errors.js'
import type { Job } from '../../src/models/job.js'
import type { NodeInfo, NodeState } from '../../src/models/node.js'
import { emptyComputeNodeInfo } from '../../src/models/node.js'
import { buildVersionInfo } from '../../src/models/version.js'
import type {
  OrchestratorApi,
  Page,
  SubmitJobRequest,
  SubmitJobResponse,
} from '../../src/orchestrator/service.js'
import type { LogEntry } from '../../src/protocols/messages.js'

const silent = pino({ level: 'silent' })

const CREATE_TIME = 1700000000123456789n

function makeJob(id: string, extra: Partial<Job> = {}): Job {
  return {
    ID: id,
    Name: id,
    Namespace: 'default',
    Type: 'batch',
    Priority: 0,
    Count: 1,
    Constraints: [],
    Meta: {},
    Labels: {},
    Tasks: [],
    State: { StateType: 'Running' },
    Version: 1,
    Revision: 1,
    CreateTime: CREATE_TIME,
    ModifyTime: CREATE_TIME + 1n,
    ...extra,
  }
}

const nodeInfo: NodeInfo = {
  NodeID: 'n-self',
  NodeType: 'Requester',
  Labels: {},
  SupportedProtocols: [],
  ComputeNodeInfo: emptyComputeNodeInfo(),
  BacalhauVersion: buildVersionInfo(),
}

const nodeState: NodeState = {
  Info: nodeInfo,
  Membership: 'APPROVED',
  Connection: 'CONNECTED',
  ConnectionState: {
    Status: 'CONNECTED',
    LastHeartbeat: '0001-01-01T00:00:00Z',
    ConnectedSince: '0001-01-01T00:00:00Z',
    DisconnectedSince: '0001-01-01T00:00:00Z',
  },
}

type LogScript = (signal: AbortSignal) => AsyncIterable<LogEntry>

/** Records every call; `fail` makes the next call throw; `logs` scripts the log stream. */
class RecordingOrchestrator implements OrchestratorApi {
  calls: { method: string; args: unknown[] }[] = []
  fail?: unknown
  submitResult: Promise<SubmitJobResponse> | undefined
  logs: LogScript = async function* () {}

  private record(method: string, ...args: unknown[]) {
    this.calls.push({ method, args })
    const f = this.fail
    this.fail = undefined
    if (f !== undefined) throw f
  }

  last(method: string) {
    const c = this.calls.filter((x) => x.method === method).at(-1)
    assert.ok(c, `${method} was not called`)
    return c.args
  }

  async submitJob(req: SubmitJobRequest): Promise<SubmitJobResponse> {
    this.record('submitJob', req)
    return this.submitResult ?? { JobID: 'j-1', EvaluationID: 'e-1', Warnings: null }
  }
  getJob(id: string, namespace?: string): Job {
    this.record('getJob', id, namespace)
    return makeJob(id === 'by-name' ? 'j-resolved' : id)
  }
  listJobs(q: unknown): Page<Job> {
    this.record('listJobs', q)
    return { Items: [makeJob('j-a'), makeJob('j-b')], NextToken: 'tok' }
  }
  async stopJob(id: string, reason: string, namespace?: string) {
    this.record('stopJob', id, reason, namespace)
    return { EvaluationID: 'e-stop' }
  }
  jobHistory(id: string, q: unknown) {
    this.record('jobHistory', id, q)
    return { Items: [], NextToken: 'more' }
  }
  jobExecutions(id: string, q: unknown) {
    this.record('jobExecutions', id, q)
    return { Items: [], NextToken: 'ignored' }
  }
  jobVersions(id: string, namespace?: string) {
    this.record('jobVersions', id, namespace)
    return { Items: [makeJob(id)], NextToken: '' }
  }
  jobResults(id: string, namespace?: string) {
    this.record('jobResults', id, namespace)
    return { Items: [{ Type: 'urlDownload', Params: { URL: 'http://h/x.tar.gz?a=1&b=<2>' } }], NextToken: '' }
  }
  streamLogs(id: string, q: unknown, signal: AbortSignal): AsyncIterable<LogEntry> {
    this.record('streamLogs', id, q, signal)
    return this.logs(signal)
  }
  listNodes(q: unknown): NodeState[] {
    this.record('listNodes', q)
    return [nodeState]
  }
  getNode(id: string): NodeState {
    this.record('getNode', id)
    return nodeState
  }
  nodeAction(id: string, action: string): void {
    this.record('nodeAction', id, action)
  }
}

const agent: AgentApi = {
  nodeInfo: () => nodeInfo,
  config: () => ({
    API: { Host: '0.0.0.0', Port: 1234, Auth: { Users: [{ Username: 'u', Password: 'hunter2' }] } },
    Compute: { Auth: { Token: 'secret-token' } },
    Orchestrator: { Auth: { Token: '' } },
    APIKeys: ['k1', 'k2'],
    Labels: { owner: 'me' },
  }),
}

interface Harness {
  server: ApiServer
  base: string
  orch: RecordingOrchestrator
}

async function startHarness(
  extra: Partial<ApiServerOptions> = {},
  withOrchestrator = true,
): Promise<Harness> {
  const orch = new RecordingOrchestrator()
  const server = new ApiServer({
    host: '127.0.0.1',
    port: 0,
    agent,
    orchestrator: withOrchestrator ? orch : undefined,
    logger: silent,
    ...extra,
  })
  await server.start()
  return { server, base: server.url(), orch }
}

async function getJson(url: string, init?: RequestInit) {
  const res = await fetch(url, init)
  const text = await res.text()
  return { res, text, body: text ? JSON.parse(text) : undefined }
}

/** Raw request through node:http, for cases fetch normalises away (HEAD, huge bodies). */
function rawRequest(
  url: string,
  opts: { method: string; headers?: Record<string, string>; body?: Buffer | string },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method, headers: opts.headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      )
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

interface WsResult {
  frames: any[]
  closeCode: number
}

function collectWs(url: string, headers?: Record<string, string>): Promise<WsResult> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    const frames: any[] = []
    ws.on('message', (data, isBinary) => {
      assert.equal(isBinary, false)
      frames.push(JSON.parse(data.toString()))
    })
    ws.on('close', (code) => resolve({ frames, closeCode: code }))
    ws.on('error', reject)
  })
}

function wsUpgradeStatus(
  url: string,
  headers?: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode!, body }))
    })
    ws.on('open', () => reject(new Error('upgrade unexpectedly succeeded')))
    ws.on('error', () => {})
  })
}

describe('ApiServer', () => {
  let h: Harness
  before(async () => {
    h = await startHarness()
  })
  after(async () => {
    await h.server.stop()
  })

  describe('agent endpoints and common headers', () => {
    it('answers alive with version, request-id, CORS and content-type headers', async () => {
      const { res, text, body } = await getJson(`${h.base}/api/v1/agent/alive`)
      assert.equal(res.status, 200)
      assert.deepEqual(body, { Status: 'OK' })
      assert.equal(text, '{"Status":"OK"}\n')
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8')
      assert.equal(res.headers.get('x-bacalhau-git-version'), buildVersionInfo().GitVersion)
      assert.ok(res.headers.get('x-bacalhau-git-commit'))
      assert.match(
        res.headers.get('x-bacalhau-build-date')!,
        /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC$/,
      )
      assert.ok(res.headers.get('x-bacalhau-build-os'))
      assert.ok(res.headers.get('x-bacalhau-arch'))
      assert.equal(res.headers.get('access-control-allow-origin'), '*')
      assert.ok(res.headers.get('x-request-id'))
    })

    it('echoes X-Request-ID in the header and in APIError.RequestID', async () => {
      const { res, body } = await getJson(`${h.base}/api/v1/nope`, { headers: { 'X-Request-ID': 'req-42' } })
      assert.equal(res.headers.get('x-request-id'), 'req-42')
      assert.equal(body.RequestID, 'req-42')
      const plain = await getJson(`${h.base}/api/v1/nope`)
      assert.equal(plain.body.RequestID, '')
      assert.notEqual(plain.res.headers.get('x-request-id'), '')
    })

    it('serves version, node, debug and authconfig', async () => {
      assert.deepEqual((await getJson(`${h.base}/api/v1/agent/version`)).body, buildVersionInfo())
      assert.equal((await getJson(`${h.base}/api/v1/agent/node`)).body.NodeID, 'n-self')
      assert.deepEqual((await getJson(`${h.base}/api/v1/agent/debug`)).body, {})
      assert.deepEqual((await getJson(`${h.base}/api/v1/agent/authconfig`)).body, {
        Version: '1.0.0',
        Config: {},
      })
    })

    it('masks secrets in the config under a lower-case "config" key', async () => {
      const { body } = await getJson(`${h.base}/api/v1/agent/config`)
      assert.equal(body.config.Compute.Auth.Token, '********')
      assert.equal(body.config.Orchestrator.Auth.Token, '')
      assert.equal(body.config.API.Auth.Users[0].Password, '********')
      assert.equal(body.config.API.Auth.Users[0].Username, 'u')
      assert.deepEqual(body.config.APIKeys, ['********', '********'])
      assert.equal(body.config.API.Port, 1234)
      assert.deepEqual(body.config.Labels, { owner: 'me' })
    })

    it('redirects /, /version and /livez with 301', async () => {
      for (const [from, to] of [
        ['/', '/api/v1/agent/version'],
        ['/version', '/api/v1/agent/version'],
        ['/livez', '/api/v1/agent/alive'],
      ]) {
        const res = await fetch(`${h.base}${from}`, { redirect: 'manual' })
        assert.equal(res.status, 301, from)
        assert.equal(res.headers.get('location'), to)
      }
    })

    it('pretty-prints with ?pretty', async () => {
      const { text } = await getJson(`${h.base}/api/v1/agent/alive?pretty`)
      assert.equal(text, '{\n  "Status": "OK"\n}\n')
    })

    it('answers CORS preflight for any path', async () => {
      const res = await fetch(`${h.base}/api/v1/orchestrator/jobs`, {
        method: 'OPTIONS',
        headers: {
          Origin: 'http://ui.example',
          'Access-Control-Request-Method': 'PUT',
          'Access-Control-Request-Headers': 'content-type,authorization',
        },
      })
      assert.equal(res.status, 204)
      assert.equal(res.headers.get('access-control-allow-origin'), '*')
      assert.match(res.headers.get('access-control-allow-methods')!, /PUT/)
      assert.equal(res.headers.get('access-control-allow-headers'), 'content-type,authorization')
    })
  })

  describe('client version check', () => {
    const alive = () => `${h.base}/api/v1/agent/alive`
    it('rejects an unparseable version with 400 and a non-APIError body', async () => {
      const { res, body } = await getJson(alive(), { headers: { 'X-Bacalhau-Git-Version': 'banana' } })
      assert.equal(res.status, 400)
      assert.deepEqual(body, { Error: 'Invalid client version banana' })
    })
    it('rejects clients older than v1.4.0 with 403', async () => {
      const { res, body } = await getJson(alive(), { headers: { 'X-Bacalhau-Git-Version': 'v1.3.2' } })
      assert.equal(res.status, 403)
      assert.deepEqual(body, {
        Error: 'Client version is outdated. Update your client',
        MinVersion: '1.4.0',
        ClientVersion: 'v1.3.2',
        ServerVersion: buildVersionInfo().GitVersion,
      })
      const pre = await getJson(alive(), { headers: { 'X-Bacalhau-Git-Version': 'v1.4.0-rc1' } })
      assert.equal(pre.res.status, 403)
    })
    it('lets current, development and absent versions through', async () => {
      for (const v of ['v1.4.0', 'v1.9.3', '1.5', 'v0.0.0', 'v0.0.0-abc1234', '']) {
        const res = await fetch(alive(), { headers: { 'X-Bacalhau-Git-Version': v } })
        assert.equal(res.status, 200, v)
      }
    })
  })

  describe('routing errors', () => {
    it('answers unknown routes with the APIServer NotFound body', async () => {
      const { res, body } = await getJson(`${h.base}/api/v2/whatever`)
      assert.equal(res.status, 404)
      assert.equal(body.Status, 404)
      assert.equal(body.Code, 'NotFound')
      assert.equal(body.Component, 'APIServer')
      assert.equal(body.Message, 'The requested resource/URL was not found.')
      assert.ok(body.Hint)
      assert.ok(body.Details.cli_usage)
    })
    it('answers a wrong method on a known route with 405', async () => {
      for (const [method, path] of [
        ['PATCH', '/api/v1/agent/alive'],
        ['POST', '/api/v1/orchestrator/jobs/j-1'],
        ['DELETE', '/api/v1/orchestrator/nodes'],
      ]) {
        const { res, body } = await getJson(`${h.base}${path}`, { method })
        assert.equal(res.status, 405, `${method} ${path}`)
        assert.equal(body.Message, 'Method Not Allowed')
        assert.equal(body.Code, 'InternalError')
        assert.ok(res.headers.get('allow'))
      }
    })
    it('answers HEAD with the status and an empty body', async () => {
      const ok = await rawRequest(`${h.base}/api/v1/agent/alive`, { method: 'HEAD' })
      assert.equal(ok.status, 200)
      assert.equal(ok.body, '')
      const missing = await rawRequest(`${h.base}/api/v1/missing`, { method: 'HEAD' })
      assert.equal(missing.status, 404)
      assert.equal(missing.body, '')
      h.orch.fail = notFound('job not found: j-x')
      const err = await rawRequest(`${h.base}/api/v1/orchestrator/jobs/j-x`, { method: 'HEAD' })
      assert.equal(err.status, 404)
      assert.equal(err.body, '')
    })
    it('answers legacy /api/v1/requester/* with 410 and a JSON string', async () => {
      for (const [method, path] of [
        ['GET', '/api/v1/requester/list'],
        ['POST', '/api/v1/requester/submit'],
      ]) {
        const { res, body } = await getJson(`${h.base}${path}`, { method })
        assert.equal(res.status, 410)
        assert.equal(typeof body, 'string')
      }
    })
    it('survives malformed paths and query strings', async () => {
      const r1 = await rawRequest(`${h.base}/api/v1/orchestrator/jobs/%E0%A4%A`, { method: 'GET' })
      assert.ok(r1.status === 200 || r1.status === 400 || r1.status === 404, String(r1.status))
      const r2 = await rawRequest(`${h.base}/api/v1/orchestrator/jobs?limit=%zz&labels=%`, { method: 'GET' })
      assert.equal(r2.status, 400)
      assert.equal((await fetch(`${h.base}/api/v1/agent/alive`)).status, 200)
    })
  })

  describe('orchestrator error mapping', () => {
    it('renders a BacalhauError with its status, code and component', async () => {
      h.orch.fail = notFound('job not found: j-1234')
      const { res, text } = await getJson(`${h.base}/api/v1/orchestrator/jobs/j-1234`)
      assert.equal(res.status, 404)
      assert.equal(
        text,
        '{"Status":404,"Message":"job not found: j-1234","RequestID":"","Code":"NotFound","Component":"JobStore"}\n',
      )
    })
    it('includes Hint and Details when set', async () => {
      h.orch.fail = new BacalhauError('ambiguous prefix', {
        code: 'MultipleNodesFound',
        component: 'NodesManager',
        hint: 'Use a more specific node ID prefix',
        details: { prefix: 'n' },
      })
      const { res, body } = await getJson(`${h.base}/api/v1/orchestrator/nodes/n`)
      assert.equal(res.status, 409)
      assert.equal(body.Code, 'MultipleNodesFound')
      assert.equal(body.Hint, 'Use a more specific node ID prefix')
      assert.deepEqual(body.Details, { prefix: 'n' })
    })
    it('hides plain errors behind 500 Internal server error', async () => {
      h.orch.fail = new Error('OrderBy id not supported for listJobs')
      const { res, body } = await getJson(`${h.base}/api/v1/orchestrator/jobs?order_by=id`)
      assert.equal(res.status, 500)
      assert.deepEqual(body, {
        Status: 500,
        Message: 'Internal server error',
        RequestID: '',
        Code: 'InternalError',
        Component: 'Unknown',
      })
    })
    it('omits orchestrator routes on a node without an orchestrator', async () => {
      const compute = await startHarness({}, false)
      try {
        assert.equal((await fetch(`${compute.base}/api/v1/orchestrator/jobs`)).status, 404)
        assert.equal((await fetch(`${compute.base}/api/v1/requester/list`)).status, 404)
        assert.equal((await fetch(`${compute.base}/api/v1/agent/alive`)).status, 200)
        const up = await wsUpgradeStatus(
          `${compute.base.replace('http', 'ws')}/api/v1/orchestrator/jobs/j-1/logs`,
        )
        assert.equal(up.status, 404)
      } finally {
        await compute.server.stop()
      }
    })
  })

  describe('job submission', () => {
    const submitUrl = () => `${h.base}/api/v1/orchestrator/jobs`
    const jobBody = {
      Job: { Name: 'hello', Type: 'batch', Count: 1, Tasks: [{ Name: 'main' }] },
      Force: true,
    }

    it('accepts PUT and POST and passes Force and client IDs through', async () => {
      for (const method of ['PUT', 'POST']) {
        const { res, text } = await getJson(submitUrl(), {
          method,
          headers: {
            'Content-Type': 'application/json',
            'X-Bacalhau-InstallationID': 'inst-1',
            'X-Bacalhau-InstanceID': 'ins-2',
          },
          body: JSON.stringify(jobBody),
        })
        assert.equal(res.status, 200, method)
        assert.equal(text, '{"JobID":"j-1","EvaluationID":"e-1","Warnings":null}\n')
        const [req] = h.orch.last('submitJob') as [SubmitJobRequest]
        assert.equal(req.force, true)
        assert.equal(req.job?.Name, 'hello')
        assert.equal(req.clientInstallationId, 'inst-1')
        assert.equal(req.clientInstanceId, 'ins-2')
      }
    })

    it('decodes keys case-insensitively and ignores unknown ones', async () => {
      const res = await fetch(submitUrl(), {
        method: 'PUT',
        body: JSON.stringify({
          job: { name: 'lower', type: 'batch' },
          Credential: null,
          IdempotencyToken: '',
        }),
      })
      assert.equal(res.status, 200)
      const [req] = h.orch.last('submitJob') as [SubmitJobRequest]
      assert.equal(req.job?.Name, 'lower')
      assert.equal(req.force, false)
      assert.equal(req.clientInstallationId, undefined)
    })

    it('rejects a missing or null Job with 400 empty/nil job', async () => {
      for (const body of ['', '{}', '{"Job":null}', 'null']) {
        const r = await getJson(submitUrl(), { method: 'PUT', body })
        assert.equal(r.res.status, 400, body)
        assert.equal(r.body.Message, 'empty/nil job')
        assert.equal(r.body.Code, 'InternalError')
        assert.equal(r.body.Component, 'APIServer')
      }
    })

    it('rejects malformed JSON and wrongly typed fields as request-validation errors', async () => {
      const bad = await getJson(submitUrl(), { method: 'PUT', body: '{"Job": {' })
      assert.equal(bad.res.status, 400)
      assert.match(bad.body.Message, /^invalid JSON body: /)
      assert.equal(bad.body.Code, 'InternalError')
      assert.equal(bad.body.Component, 'APIServer')

      const typed = await getJson(submitUrl(), { method: 'PUT', body: '{"Job":{"Count":"three"}}' })
      assert.equal(typed.res.status, 400)
      assert.match(typed.body.Message, /Job\.Count/)

      const arr = await getJson(submitUrl(), { method: 'PUT', body: '[1,2]' })
      assert.equal(arr.res.status, 400)
    })

    it('keeps 16+ digit integers in request bodies exact', async () => {
      const res = await fetch(submitUrl(), {
        method: 'PUT',
        body: '{"Job":{"Name":"again","CreateTime":1700000000123456789,"ModifyTime":"1700000000123456790"}}',
      })
      assert.equal(res.status, 200)
      const [req] = h.orch.last('submitJob') as [SubmitJobRequest]
      assert.equal(req.job?.CreateTime, 1700000000123456789n)
      assert.equal(req.job?.ModifyTime, 1700000000123456790n)
    })

    it('maps orchestrator failures during submit', async () => {
      h.orch.fail = new BacalhauError('no changes detected for new job spec', {
        hint: 'Use the --force flag to override this warning',
      })
      const { res, body } = await getJson(submitUrl(), { method: 'PUT', body: JSON.stringify(jobBody) })
      assert.equal(res.status, 500)
      assert.equal(body.Code, '')
      assert.equal(body.Component, 'Bacalhau')
      assert.equal(body.Hint, 'Use the --force flag to override this warning')
    })

    it('answers 413 for bodies over 10 MB', async () => {
      const big = Buffer.alloc(10 * 1024 * 1024 + 10, 0x20)
      const r = await rawRequest(submitUrl(), {
        method: 'PUT',
        body: big,
        headers: { 'Content-Type': 'application/json' },
      })
      assert.equal(r.status, 413)
      const body = JSON.parse(r.body)
      assert.equal(body.Status, 413)
      assert.equal(body.Code, 'InternalError')
      assert.equal((await fetch(`${h.base}/api/v1/agent/alive`)).status, 200)
    })
  })

  describe('query binding', () => {
    it('passes list-jobs parameters through and ANDs repeated labels', async () => {
      const { res, body } = await getJson(
        `${h.base}/api/v1/orchestrator/jobs?namespace=ns1&limit=10&next_token=abc&order_by=modified_at&reverse=1` +
          `&labels=${encodeURIComponent('env=prod,tier in (a,b)')}&labels=${encodeURIComponent('!gpu')}`,
      )
      assert.equal(res.status, 200)
      assert.equal(body.NextToken, 'tok')
      assert.equal(body.Items.length, 2)
      const [q] = h.orch.last('listJobs') as [any]
      assert.equal(q.namespace, 'ns1')
      assert.equal(q.limit, 10)
      assert.equal(q.nextToken, 'abc')
      assert.equal(q.orderBy, 'modified_at')
      assert.equal(q.reverse, true)
      assert.deepEqual(q.labels, [
        { Key: 'env', Operator: '=', Values: ['prod'] },
        { Key: 'tier', Operator: 'in', Values: ['a', 'b'] },
        { Key: 'gpu', Operator: '!', Values: [] },
      ])
    })

    it('treats absent and empty parameters as unset', async () => {
      await getJson(`${h.base}/api/v1/orchestrator/jobs?limit=&reverse=`)
      const [q] = h.orch.last('listJobs') as [any]
      assert.equal(q.limit, undefined)
      assert.equal(q.reverse, undefined)
      assert.equal(q.labels, undefined)
      assert.equal(q.namespace, undefined)
    })

    it('rejects malformed limit, reverse and labels with 400', async () => {
      for (const qs of [
        'limit=abc',
        'limit=-1',
        'limit=4294967296',
        'reverse=yes',
        'labels=' + encodeURIComponent('a in (b'),
      ]) {
        const { res, body } = await getJson(`${h.base}/api/v1/orchestrator/jobs?${qs}`)
        assert.equal(res.status, 400, qs)
        assert.equal(body.Code, 'InternalError')
        assert.equal(body.Component, 'APIServer')
      }
      const max = await fetch(`${h.base}/api/v1/orchestrator/jobs?limit=4294967295`)
      assert.equal(max.status, 200)
    })

    it('binds history parameters and validates event_type and since', async () => {
      const { body } = await getJson(
        `${h.base}/api/v1/orchestrator/jobs/j-1/history?namespace=n&limit=5&next_token=t&since=1700000000&event_type=execution&execution_id=e-abc`,
      )
      assert.deepEqual(body, { NextToken: 'more', Items: [] })
      const [id, q] = h.orch.last('jobHistory') as [string, any]
      assert.equal(id, 'j-1')
      assert.deepEqual(q, {
        namespace: 'n',
        limit: 5,
        nextToken: 't',
        since: 1700000000,
        eventType: 'execution',
        executionId: 'e-abc',
      })
      for (const qs of ['event_type=task', 'since=-1', 'since=soon']) {
        const r = await fetch(`${h.base}/api/v1/orchestrator/jobs/j-1/history?${qs}`)
        assert.equal(r.status, 400, qs)
      }
    })

    it('binds executions parameters and never returns a token', async () => {
      const { body } = await getJson(
        `${h.base}/api/v1/orchestrator/jobs/j-1/executions?namespace=n&limit=3&order_by=modify_time&reverse=true&next_token=x`,
      )
      assert.deepEqual(body, { NextToken: '', Items: [] })
      const [, q] = h.orch.last('jobExecutions') as [string, any]
      assert.deepEqual(q, { namespace: 'n', limit: 3, orderBy: 'modify_time', reverse: true })
    })

    it('binds node list filters (upper-cased) and answers under Nodes', async () => {
      const { body } = await getJson(
        `${h.base}/api/v1/orchestrator/nodes?limit=2&order_by=available_cpu&reverse=false&labels=zone%3Da&filter-approval=approved&filter-status=Connected`,
      )
      assert.equal(body.NextToken, '')
      assert.equal(body.Nodes.length, 1)
      assert.equal(body.Items, undefined)
      const [q] = h.orch.last('listNodes') as [any]
      assert.deepEqual(q, {
        limit: 2,
        orderBy: 'available_cpu',
        reverse: false,
        labels: [{ Key: 'zone', Operator: '=', Values: ['a'] }],
        filterApproval: 'APPROVED',
        filterStatus: 'CONNECTED',
      })
    })
  })

  describe('job endpoints', () => {
    it('emits int64 nanosecond times as exact JSON numbers', async () => {
      const { text } = await getJson(`${h.base}/api/v1/orchestrator/jobs/j-big`)
      assert.match(text, /"CreateTime":1700000000123456789[,}]/)
      assert.match(text, /"ModifyTime":1700000000123456790[,}]/)
    })

    it('gets a job by name with namespace and optional history/executions', async () => {
      const plain = await getJson(`${h.base}/api/v1/orchestrator/jobs/by-name?namespace=team`)
      assert.deepEqual(h.orch.last('getJob'), ['by-name', 'team'])
      assert.deepEqual(Object.keys(plain.body), ['Job'])

      const full = await getJson(
        `${h.base}/api/v1/orchestrator/jobs/by-name?include=history,executions,bogus`,
      )
      assert.deepEqual(Object.keys(full.body).sort(), ['Executions', 'History', 'Job'])
      assert.deepEqual(full.body.History, { NextToken: '', Items: [] })
      assert.deepEqual(full.body.Executions, { NextToken: '', Items: [] })
      // Follow-up lookups use the resolved ID, not the name.
      assert.equal(h.orch.last('jobHistory')[0], 'j-resolved')
      assert.equal((h.orch.last('jobHistory')[1] as any).limit, 100)
      assert.equal(h.orch.last('jobExecutions')[0], 'j-resolved')
    })

    it('stops a job with the reason from the body only', async () => {
      const url = `${h.base}/api/v1/orchestrator/jobs/j-9?namespace=qns&reason=from-query`
      const r1 = await getJson(url, { method: 'DELETE', body: JSON.stringify({ reason: 'because' }) })
      assert.deepEqual(r1.body, { EvaluationID: 'e-stop' })
      assert.deepEqual(h.orch.last('stopJob'), ['j-9', 'because', 'qns'])

      await getJson(url, { method: 'DELETE' })
      assert.deepEqual(h.orch.last('stopJob'), ['j-9', '', 'qns'])

      await getJson(url, {
        method: 'DELETE',
        body: JSON.stringify({ Reason: 'R', Namespace: 'bns', Credential: null, IdempotencyToken: '' }),
      })
      assert.deepEqual(h.orch.last('stopJob'), ['j-9', 'R', 'bns'])

      const bad = await fetch(url, { method: 'DELETE', body: '{"reason":' })
      assert.equal(bad.status, 400)
    })

    it('serves versions and results; results keep & and < unescaped', async () => {
      const v = await getJson(`${h.base}/api/v1/orchestrator/jobs/j-1/versions?namespace=x`)
      assert.equal(v.body.Items[0].ID, 'j-1')
      assert.deepEqual(h.orch.last('jobVersions'), ['j-1', 'x'])
      const r = await getJson(`${h.base}/api/v1/orchestrator/jobs/j-1/results`)
      assert.ok(r.text.includes('"URL":"http://h/x.tar.gz?a=1&b=<2>"'), r.text)
      assert.equal(r.body.NextToken, '')
    })

    it('escapes <, > and & elsewhere, as Go does', async () => {
      h.orch.fail = notFound('job not found: <a&b>')
      const { text, body } = await getJson(`${h.base}/api/v1/orchestrator/jobs/x`)
      assert.ok(text.includes('job not found: \\u003ca\\u0026b\\u003e'), text)
      assert.equal(body.Message, 'job not found: <a&b>')
    })

    it('answers a plain GET on the logs path with 400', async () => {
      const { res, body } = await getJson(`${h.base}/api/v1/orchestrator/jobs/j-1/logs`)
      assert.equal(res.status, 400)
      assert.match(body.Message, /websocket/)
    })
  })

  describe('node endpoints', () => {
    it('gets a node and applies an action by path ID', async () => {
      const g = await getJson(`${h.base}/api/v1/orchestrator/nodes/n-se`)
      assert.equal(g.body.Node.Info.NodeID, 'n-self')
      assert.deepEqual(h.orch.last('getNode'), ['n-se'])
      const p = await getJson(`${h.base}/api/v1/orchestrator/nodes/n-se`, {
        method: 'PUT',
        body: JSON.stringify({ Action: 'approve', Message: 'ok', NodeID: 'other' }),
      })
      assert.equal(p.text, '{"Success":true}\n')
      assert.deepEqual(h.orch.last('nodeAction'), ['n-se', 'approve'])
    })
  })

  describe('log WebSocket', () => {
    const wsUrl = (path: string) => `${h.base.replace(/^http/, 'ws')}${path}`

    it('streams entries as {"value":{Type,Line}} text frames and closes with 1000', async () => {
      h.orch.logs = async function* () {
        yield { Type: 1, Line: 'hello\n' }
        yield { Type: 2, Line: 'warn <x>\n' }
      }
      const { frames, closeCode } = await collectWs(
        wsUrl('/api/v1/orchestrator/jobs/j-1/logs?execution_id=e-1&tail=true&follow=0&namespace=ns'),
      )
      assert.deepEqual(frames, [
        { value: { Type: 1, Line: 'hello\n' } },
        { value: { Type: 2, Line: 'warn <x>\n' } },
      ])
      assert.equal(closeCode, 1000)
      const [id, q] = h.orch.last('streamLogs') as [string, any]
      assert.equal(id, 'j-1')
      assert.deepEqual(q, { namespace: 'ns', executionId: 'e-1', tail: true, follow: false })
    })

    it('sends an error frame when the stream fails, then closes with 1000', async () => {
      h.orch.logs = async function* () {
        yield { Type: 1, Line: 'partial\n' }
        throw new Error('failed to open log stream for job j-1: no executions found')
      }
      const { frames, closeCode } = await collectWs(wsUrl('/api/v1/orchestrator/jobs/j-1/logs'))
      assert.deepEqual(frames, [
        { value: { Type: 1, Line: 'partial\n' } },
        { value: { Type: 0, Line: '' }, error: 'failed to open log stream for job j-1: no executions found' },
      ])
      assert.equal(closeCode, 1000)
      const [, q] = h.orch.last('streamLogs') as [string, any]
      assert.deepEqual(q, { namespace: undefined, executionId: undefined, tail: false, follow: false })
    })

    it('upgrades before lookup: an orchestrator error arrives as a frame', async () => {
      h.orch.fail = notFound('job not found: j-missing')
      const { frames, closeCode } = await collectWs(wsUrl('/api/v1/orchestrator/jobs/j-missing/logs'))
      assert.deepEqual(frames, [{ value: { Type: 0, Line: '' }, error: 'job not found: j-missing' }])
      assert.equal(closeCode, 1000)
    })

    it('follows until the client disconnects, then aborts the stream', async () => {
      let aborted: () => void = () => {}
      const abortedP = new Promise<void>((r) => (aborted = r))
      h.orch.logs = async function* (signal) {
        signal.addEventListener('abort', () => aborted())
        for (let i = 0; !signal.aborted; i++) {
          yield { Type: 1, Line: `line ${i}\n` }
          await new Promise((r) => setTimeout(r, 5))
        }
      }
      const ws = new WebSocket(wsUrl('/api/v1/orchestrator/jobs/j-1/logs?follow=true'))
      const got: string[] = []
      await new Promise<void>((resolve, reject) => {
        ws.on('message', (d) => {
          got.push(JSON.parse(d.toString()).value.Line)
          if (got.length === 3) resolve()
        })
        ws.on('error', reject)
      })
      // Client messages are ignored.
      ws.send('ignored')
      ws.close()
      await abortedP
      assert.deepEqual(got.slice(0, 3), ['line 0\n', 'line 1\n', 'line 2\n'])
      assert.equal((h.orch.last('streamLogs')[1] as any).follow, true)
    })

    it('rejects a bad query, an outdated client and unknown upgrade paths before upgrading', async () => {
      const bad = await wsUpgradeStatus(wsUrl('/api/v1/orchestrator/jobs/j-1/logs?follow=maybe'))
      assert.equal(bad.status, 400)
      assert.equal(JSON.parse(bad.body).Component, 'APIServer')
      const old = await wsUpgradeStatus(wsUrl('/api/v1/orchestrator/jobs/j-1/logs'), {
        'X-Bacalhau-Git-Version': 'v1.2.0',
      })
      assert.equal(old.status, 403)
      assert.equal(JSON.parse(old.body).MinVersion, '1.4.0')
      const nf = await wsUpgradeStatus(wsUrl('/api/v1/agent/alive'))
      assert.equal(nf.status, 404)
      assert.equal(JSON.parse(nf.body).Code, 'NotFound')
    })
  })
})

describe('ApiServer lifecycle', () => {
  it('reports 127.0.0.1 in url() when bound to 0.0.0.0', async () => {
    const h = await startHarness({ host: '0.0.0.0' })
    try {
      assert.ok(h.server.port() > 0)
      assert.equal(h.server.url(), `http://127.0.0.1:${h.server.port()}`)
      assert.equal((await fetch(`${h.server.url()}/api/v1/agent/alive`)).status, 200)
    } finally {
      await h.server.stop()
    }
  })

  it('answers 503 "Server Timeout!" when a handler exceeds its timeout', async () => {
    const h = await startHarness({ handlerTimeoutMs: 100 })
    try {
      h.orch.submitResult = new Promise(() => {})
      const res = await fetch(`${h.base}/api/v1/orchestrator/jobs`, {
        method: 'PUT',
        body: JSON.stringify({ Job: { Name: 'slow' } }),
      })
      assert.equal(res.status, 503)
      assert.equal(await res.text(), 'Server Timeout!')
    } finally {
      await h.server.stop()
    }
  })

  it('stops promptly with an open log stream and a pending request', async () => {
    const h = await startHarness()
    h.orch.logs = async function* (signal) {
      yield { Type: 1, Line: 'x\n' }
      await new Promise<void>((r) => signal.addEventListener('abort', () => r()))
    }
    const ws = new WebSocket(`${h.base.replace(/^http/, 'ws')}/api/v1/orchestrator/jobs/j-1/logs?follow=true`)
    const closed = new Promise<void>((r) => ws.on('close', () => r()))
    ws.on('error', () => {})
    await new Promise<void>((r) => ws.once('message', () => r()))
    const streamSignal = h.orch.last('streamLogs')[2] as AbortSignal
    h.orch.submitResult = new Promise(() => {})
    const pending = fetch(`${h.base}/api/v1/orchestrator/jobs`, { method: 'PUT', body: '{"Job":{}}' }).catch(
      (e: Error) => e,
    )
    await new Promise((r) => setTimeout(r, 50))
    const t0 = Date.now()
    await h.server.stop()
    assert.ok(Date.now() - t0 < 2000, `stop took ${Date.now() - t0} ms`)
    await closed
    assert.equal(streamSignal.aborted, true)
    assert.ok((await pending) instanceof Error)
  })

  it('rejects start() when the port is taken', async () => {
    const a = await startHarness()
    const b = new ApiServer({ host: '127.0.0.1', port: a.server.port(), agent, logger: silent })
    try {
      await assert.rejects(b.start(), /EADDRINUSE/)
    } finally {
      await b.stop()
      await a.server.stop()
    }
  })
})
