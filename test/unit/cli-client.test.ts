import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { WebSocketServer } from 'ws'
import { ApiClient, ApiConnectionError, ApiError, apiBaseUrl, type LogEntry } from '../../src/api/client.js'
import { GIT_VERSION } from '../../src/models/version.js'

interface Seen {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  body: string
}

let server: http.Server
let base: string
const seen: Seen[] = []

function reply(res: http.ServerResponse, status: number, body: string, type = 'application/json') {
  res.writeHead(status, { 'Content-Type': type })
  res.end(body)
}

before(async () => {
  server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body })
      const u = new URL(req.url!, 'http://x')
      if (u.pathname === '/api/v1/agent/alive') return reply(res, 200, '{"Status":"OK"}')
      if (u.pathname === '/api/v1/orchestrator/jobs' && req.method === 'PUT')
        return reply(res, 200, '{"JobID":"j-1","EvaluationID":"e","Warnings":null}')
      if (u.pathname === '/api/v1/orchestrator/jobs/j-big')
        return reply(
          res,
          200,
          '{"Job":{"ID":"j-big","CreateTime":1735787045123456789,"ModifyTime":1735787051987654321}}',
        )
      if (u.pathname === '/api/v1/orchestrator/jobs/missing')
        return reply(
          res,
          404,
          '{"Status":404,"Message":"job not found: missing","RequestID":"","Code":"NotFound","Component":"JobStore"}',
        )
      if (u.pathname === '/api/v1/orchestrator/jobs/dup')
        return reply(
          res,
          500,
          '{"Status":500,"Message":"no changes detected","Code":"","Component":"JobStore","Hint":"Use the --force flag"}',
        )
      if (u.pathname === '/api/v1/orchestrator/jobs/old')
        return reply(res, 403, '{"Error":"Client version is outdated. Update your client"}')
      if (u.pathname === '/api/v1/orchestrator/jobs/timeout')
        return reply(res, 503, 'Server Timeout!', 'text/plain')
      if (u.pathname === '/api/v1/orchestrator/jobs/slow')
        return void setTimeout(() => reply(res, 200, '{}'), 500)
      if (u.pathname === '/api/v1/orchestrator/jobs/badjson') return reply(res, 200, '{oops')
      return reply(res, 200, '{"NextToken":"","Items":[]}')
    })
  })
  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req, socket, head) => {
    const u = new URL(req.url!, 'http://x')
    seen.push({ method: 'WS', url: req.url!, headers: req.headers, body: '' })
    if (u.pathname.endsWith('/refused/logs')) {
      socket.end(
        'HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 31\r\n\r\n{"Message":"no such job: nope"}',
      )
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (u.pathname.includes('/bad/')) {
        ws.send(JSON.stringify({ value: { Type: 1, Line: 'partial\n' } }))
        ws.send(
          JSON.stringify({ value: { Type: 0, Line: '' }, error: 'failed to open log stream: no executions' }),
        )
        return
      }
      ws.send(JSON.stringify({ value: { Type: 1, Line: 'hello\n' } }))
      ws.send(JSON.stringify({ value: { Type: 2, Line: 'oops\n' } }))
      ws.close(1000)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
after(() => {
  server.closeAllConnections()
  server.close()
})

const client = () => new ApiClient({ baseUrl: base, env: {} })

describe('apiBaseUrl', () => {
  it('rewrites 0.0.0.0 to loopback and accepts URLs', () => {
    assert.equal(apiBaseUrl('0.0.0.0', 1234), 'http://127.0.0.1:1234')
    assert.equal(apiBaseUrl('example.org', 80), 'http://example.org:80')
    assert.equal(apiBaseUrl('https://example.org', 1234), 'https://example.org:1234')
    assert.equal(apiBaseUrl('https://example.org:8443', 1234), 'https://example.org:8443')
    assert.equal(apiBaseUrl('http://0.0.0.0:9', 1), 'http://127.0.0.1:9')
    assert.equal(apiBaseUrl('::1', 5), 'http://[::1]:5')
    assert.throws(() => apiBaseUrl('http://h/path', 1), /must not have a path or query/)
  })
})

describe('ApiClient', () => {
  it('sends the Bacalhau client headers and JSON bodies', async () => {
    seen.length = 0
    const resp = await client().putJob({ Type: 'batch' }, true)
    assert.deepEqual(resp, { JobID: 'j-1', EvaluationID: 'e', Warnings: null })
    const req = seen[0]
    assert.equal(req.method, 'PUT')
    assert.equal(req.url, '/api/v1/orchestrator/jobs')
    assert.equal(req.headers['x-bacalhau-git-version'], GIT_VERSION)
    assert.ok(req.headers['x-bacalhau-build-os'])
    assert.equal(req.headers['content-type'], 'application/json')
    assert.deepEqual(JSON.parse(req.body), { Job: { Type: 'batch' }, Force: true })
  })

  it('adds auth headers from the environment', async () => {
    seen.length = 0
    await new ApiClient({ baseUrl: base, env: { BACALHAU_API_KEY: 'k1' } }).alive()
    assert.equal(seen[0].headers.authorization, 'Bearer k1')
    assert.throws(
      () => new ApiClient({ baseUrl: base, env: { BACALHAU_API_USERNAME: 'u' } }),
      /must be set together/,
    )
  })

  it('builds query strings for list endpoints', async () => {
    seen.length = 0
    const c = client()
    await c.listJobs({
      limit: 10,
      nextToken: 'tok',
      orderBy: 'created_at',
      reverse: true,
      labels: ['a=b', 'c'],
      namespace: '',
    })
    await c.jobHistory('j-1', { limit: 10, eventType: 'execution', executionId: 'e-1' })
    await c.getJob('j-1', { include: ['history', 'executions'], namespace: 'ns' })
    await c.listNodes({ filterApproval: 'PENDING', orderBy: 'id' })
    assert.equal(
      seen[0].url,
      '/api/v1/orchestrator/jobs?limit=10&next_token=tok&order_by=created_at&reverse=true&labels=a%3Db&labels=c',
    )
    assert.equal(
      seen[1].url,
      '/api/v1/orchestrator/jobs/j-1/history?limit=10&event_type=execution&execution_id=e-1',
    )
    assert.equal(seen[2].url, '/api/v1/orchestrator/jobs/j-1?namespace=ns&include=history%2Cexecutions')
    assert.equal(seen[3].url, '/api/v1/orchestrator/nodes?order_by=id&filter-approval=PENDING')
  })

  it('keeps int64 nanosecond times exact', async () => {
    const { Job } = await client().getJob('j-big')
    assert.equal(Job.CreateTime, 1735787045123456789n)
    assert.equal(Job.ModifyTime, 1735787051987654321n)
  })

  it('turns APIError bodies into errors carrying message, code and hint', async () => {
    await assert.rejects(client().getJob('missing'), (e: ApiError) => {
      assert.ok(e instanceof ApiError)
      assert.equal(e.message, 'job not found: missing')
      assert.equal(e.status, 404)
      assert.equal(e.code, 'NotFound')
      assert.equal(e.component, 'JobStore')
      return true
    })
    await assert.rejects(client().getJob('dup'), {
      message: 'no changes detected',
      hint: 'Use the --force flag',
    })
    await assert.rejects(client().getJob('old'), {
      message: 'Client version is outdated. Update your client',
      status: 403,
    })
    await assert.rejects(client().getJob('timeout'), { message: 'Server Timeout!', status: 503 })
    await assert.rejects(client().getJob('badjson'), /invalid JSON in the response/)
  })

  it('gives one clear line when the server cannot be reached', async () => {
    const probe = http.createServer()
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
    const port = (probe.address() as AddressInfo).port
    await new Promise<void>((r) => probe.close(() => r()))
    const url = `http://127.0.0.1:${port}`
    await assert.rejects(new ApiClient({ baseUrl: url, env: {} }).alive(), (e: Error) => {
      assert.ok(e instanceof ApiConnectionError)
      assert.equal(
        e.message,
        `cannot reach the Bacalhau API at ${url}: connection refused — is a node running? (bacalhau serve)`,
      )
      return true
    })
    await assert.rejects(
      new ApiClient({ baseUrl: base, env: {}, timeoutMs: 100 }).getJob('slow'),
      /timed out after 0.1s waiting for the Bacalhau API at/,
    )
  })

  it('streams logs over a WebSocket', async () => {
    seen.length = 0
    const got: LogEntry[] = []
    for await (const e of client().logs('j-1', { executionId: 'e-1', follow: true })) got.push(e)
    assert.deepEqual(got, [
      { Type: 1, Line: 'hello\n' },
      { Type: 2, Line: 'oops\n' },
    ])
    assert.equal(seen[0].url, '/api/v1/orchestrator/jobs/j-1/logs?execution_id=e-1&follow=true')
    assert.equal(seen[0].headers['x-bacalhau-git-version'], GIT_VERSION)
  })

  it('throws on an error frame after yielding earlier lines', async () => {
    const got: string[] = []
    await assert.rejects(
      (async () => {
        for await (const e of client().logs('bad')) got.push(e.Line)
      })(),
      { message: 'failed to open log stream: no executions' },
    )
    assert.deepEqual(got, ['partial\n'])
  })

  it('reports a refused log stream with the server message', async () => {
    await assert.rejects(
      (async () => {
        for await (const _ of client().logs('refused')) void _
      })(),
      { message: 'no such job: nope', status: 404 },
    )
  })
})
