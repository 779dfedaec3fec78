import { captureLogger, newHost, nodeInfo, silent, sleep, waitFor } from './network-helpers.js'
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { PeerId } from '@libp2p/interface'
import type { Host } from '../../src/network/host.js'
import {
  NODES_TOPIC,
  NodeGossip,
  parseNodeInfoUpdate,
  type NodeInfoUpdate,
} from '../../src/network/node-gossip.js'

// Line topology A – B – C: C hears A only through B.
describe('node gossip', () => {
  let a: Host, b: Host, c: Host
  let ga: NodeGossip, gb: NodeGossip, gc: NodeGossip
  const log = captureLogger('debug')
  const received: Array<{ update: NodeInfoUpdate; from: string }> = []

  before(async () => {
    ;[a, b, c] = await Promise.all([newHost(), newHost(), newHost()])
    ga = new NodeGossip({ pubsub: a.services.pubsub, logger: silent })
    gb = new NodeGossip({ pubsub: b.services.pubsub, logger: silent })
    gc = new NodeGossip({ pubsub: c.services.pubsub, logger: log.logger })
    gc.onNodeInfo((update, from: PeerId) => {
      received.push({ update, from: from.toString() })
    })
    for (const g of [ga, gb, gc]) g.start()
    await a.dial(b.getMultiaddrs()[0]!)
    await c.dial(b.getMultiaddrs()[0]!)
  })
  after(async () => {
    for (const g of [ga, gb, gc]) g?.stop()
    await Promise.all([a, b, c].map((h) => h?.stop()))
  })

  /** Publishes every 100 ms, as a heartbeat would, until C has it. */
  async function publishUntilSeen(
    g: NodeGossip,
    update: NodeInfoUpdate,
    match: (u: NodeInfoUpdate) => boolean,
  ) {
    return waitFor('gossip delivery', async () => {
      await g.publishNodeInfo(update)
      const hit = received.find((r) => match(r.update))
      if (!hit) await sleep(100)
      return hit
    })
  }

  it('carries a NodeInfoUpdate two hops, with the verified sender', async () => {
    const start = Date.now()
    const hit = await publishUntilSeen(ga, nodeInfo('node-a'), (u) => u.nodeId === 'node-a')
    assert.equal(hit.from, a.peerId.toString())
    assert.deepEqual(hit.update, nodeInfo('node-a'))
    assert.equal(gc.bindings.peerOf('node-a'), a.peerId.toString())
    assert.ok(Date.now() - start < 3000)
  })

  it('drops garbage, oversized and schema-invalid messages with a warning, and keeps delivering', async () => {
    const pub = (data: Uint8Array) => b.services.pubsub.publish(NODES_TOPIC, data)
    const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v))
    await pub(new Uint8Array([0xff, 0xfe, 0x00, 0x01]))
    await pub(enc('{not json'))
    await pub(enc({ type: 'NodeInfoUpdate', nodeId: '', bootId: 'x', info: {} }))
    await pub(
      enc({ type: 'BidResult', nodeId: 'n', executionId: 'e', jobId: 'j', accepted: true, reason: '' }),
    )
    await pub(enc({ ...nodeInfo('padded'), info: { NodeID: 'padded', pad: 'x'.repeat(300 * 1024) } }))
    await pub(enc({ ...nodeInfo('liar'), info: { NodeID: 'someone-else' } }))
    const warned = await waitFor('six warnings', () => {
      const w = log.lines.filter((l) => l.msg === 'dropped invalid node announcement')
      return w.length >= 6 && w
    })
    const reasons = warned.map((w) => String(w.reason)).join('\n')
    assert.match(reasons, /not JSON/)
    assert.match(reasons, /nodeId/)
    assert.match(reasons, /exceeds/)
    assert.match(reasons, /does not match/)
    assert.ok(warned.every((w) => w.peer === b.peerId.toString()))
    assert.ok(!received.some((r) => ['padded', 'liar', ''].includes(r.update.nodeId)))
    const hit = await publishUntilSeen(gb, nodeInfo('node-b'), (u) => u.nodeId === 'node-b')
    assert.equal(hit.from, b.peerId.toString())
  })

  it('rejects a NodeID announced from a second peer', async () => {
    await waitFor('node-a bound', () => gc.bindings.peerOf('node-a'))
    const before = received.length
    for (let i = 0; i < 5; i++) {
      await gb.publishNodeInfo(nodeInfo('node-a', 'spoofed'))
      await sleep(60)
    }
    // A later genuine update still flows, proving the spoofs had time to arrive.
    await publishUntilSeen(ga, nodeInfo('node-a', 'boot-2'), (u) => u.bootId === 'boot-2')
    const spoofed = received.slice(before).filter((r) => r.update.bootId === 'spoofed')
    assert.equal(spoofed.length, 0)
    assert.equal(gc.bindings.peerOf('node-a'), a.peerId.toString())
    const warns = log.lines.filter((l) => String(l.msg).includes('bound to another peer'))
    assert.equal(warns.length, 1, 'one warning per impostor, not one per message')
    assert.equal(warns[0]!.peer, b.peerId.toString())
    assert.equal(warns[0]!.level, 40)
  })

  it('parses announcements defensively', () => {
    const ok = parseNodeInfoUpdate(new TextEncoder().encode(JSON.stringify(nodeInfo('x'))))
    assert.equal(ok.ok, true)
    const bad = parseNodeInfoUpdate(new TextEncoder().encode('null'))
    assert.equal(bad.ok, false)
  })
})
