import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { LocalPublisher } from '../../src/publishers/local/index.js'
import { NoopPublisher } from '../../src/publishers/noop/index.js'
import { PublisherRegistry } from '../../src/publishers/registry.js'
import type { Publisher } from '../../src/publishers/types.js'

describe('NoopPublisher', () => {
  it('publishes an empty result type', async () => {
    const p = new NoopPublisher()
    assert.equal(p.name, 'noop')
    assert.equal(await p.isInstalled(), true)
    const result = await p.publish(
      { executionId: 'e-1', jobId: 'j-1', nodeId: 'n', spec: { Type: 'noop' }, resultsDir: '/nonexistent' },
      new AbortController().signal,
    )
    assert.deepEqual(result, { Type: '' })
    assert.equal(JSON.stringify(result), '{"Type":""}')
  })
})

describe('PublisherRegistry', () => {
  let tmp: string
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pub-registry-test-'))
  })
  after(() => fs.rmSync(tmp, { recursive: true, force: true }))

  const local = () => ({ address: '127.0.0.1', port: 0, storageDir: path.join(tmp, 'local-publisher') })

  it('registers noop and local, looked up case-insensitively', () => {
    const r = new PublisherRegistry({ local: local(), disabled: [] })
    assert.deepEqual(r.names(), ['local', 'noop', 's3'])
    assert.ok(r.get('Local') instanceof LocalPublisher)
    assert.ok(r.get('NOOP') instanceof NoopPublisher)
    assert.ok(r.get('S3'))
  })

  it('honours Publishers.Disabled', () => {
    assert.deepEqual(new PublisherRegistry({ local: local(), disabled: ['Local'] }).names(), ['noop', 's3'])
    assert.deepEqual(new PublisherRegistry({ local: local(), disabled: ['noop', 'local', 'S3'] }).names(), [])
  })

  it('starts and stops the servers', async () => {
    const r = new PublisherRegistry({ local: local(), disabled: [] })
    await r.startAll()
    const url = `${(r.get('local') as LocalPublisher).url()}/missing.tar.gz`
    const res = await fetch(url)
    assert.equal(res.status, 404)
    await res.arrayBuffer()
    await r.stopAll()
    await assert.rejects(fetch(url))
    await r.stopAll()
  })

  it('stops what it started when a later start fails', async () => {
    const r = new PublisherRegistry({ local: local(), disabled: [] })
    let stopped = 0
    const failing: Publisher & { start(): Promise<void>; stop(): Promise<void> } = {
      name: 'zfail',
      isInstalled: async () => true,
      publish: async () => ({ Type: '' }),
      start: async () => {
        throw new Error('boom')
      },
      stop: async () => {
        stopped++
      },
    }
    r.register(failing)
    await assert.rejects(r.startAll(), /boom/)
    const lp = r.get('local') as LocalPublisher
    assert.throws(() => lp.url(), /not started/)
    assert.equal(stopped, 0)
  })
})
