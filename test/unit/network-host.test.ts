import { addrOf, newHost, portOf } from './network-helpers.js'
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialPeer, type Host } from '../../src/network/host.js'

describe('libp2p host', () => {
  let a: Host, b: Host, wrong: Host, open: Host
  before(async () => {
    ;[a, b, wrong, open] = await Promise.all([
      newHost({ token: 'secret-1' }),
      newHost({ token: 'secret-1' }),
      newHost({ token: 'secret-2' }),
      newHost(),
    ])
  })
  after(async () => {
    await Promise.all([a, b, wrong, open].map((h) => h?.stop()))
  })

  it('connects two hosts with the same token (multiaddr with /p2p/) and pings', async () => {
    assert.match(addrOf(b), /\/p2p\//)
    const conn = await dialPeer(a, addrOf(b), 3000)
    assert.equal(conn.remotePeer.toString(), b.peerId.toString())
    const rtt = await a.services.ping.ping(b.peerId, { signal: AbortSignal.timeout(3000) })
    assert.ok(rtt >= 0)
  })

  it('dials ip:port and localhost:port forms', async () => {
    const c1 = await dialPeer(b, `127.0.0.1:${portOf(a)}`, 3000)
    assert.equal(c1.remotePeer.toString(), a.peerId.toString())
    const other = await newHost({ token: 'secret-1' })
    try {
      const c2 = await dialPeer(other, `localhost:${portOf(a)}`, 3000)
      assert.equal(c2.remotePeer.toString(), a.peerId.toString())
    } finally {
      await other.stop()
    }
  })

  it('fails a dial to a different token within the timeout, naming the token', async () => {
    const start = Date.now()
    await assert.rejects(dialPeer(a, `127.0.0.1:${portOf(wrong)}`, 1500), (err: Error) => {
      assert.match(err.message, /could not connect to peer at 127\.0\.0\.1:\d+/)
      assert.match(err.message, /different network token/)
      return true
    })
    assert.ok(Date.now() - start < 4000, `took ${Date.now() - start} ms`)
    assert.equal(a.getConnections(wrong.peerId).length, 0)
    assert.equal(wrong.getConnections(a.peerId).length, 0, 'the other side keeps no connection either')
  })

  it('keeps a host without a token apart from a private network', async () => {
    await assert.rejects(dialPeer(open, addrOf(a), 1500), /could not connect/)
    assert.equal(open.getConnections().length, 0)
    await assert.rejects(dialPeer(a, addrOf(open), 1500), /could not connect/)
    assert.equal(a.getConnections(open.peerId).length, 0)
  })

  it('reports an unreachable address plainly when no token is in use', async () => {
    const gone = await newHost()
    const port = portOf(gone)
    await gone.stop()
    await assert.rejects(dialPeer(open, `127.0.0.1:${port}`, 1500), (err: Error) => {
      assert.match(err.message, /could not connect to peer at 127\.0\.0\.1/)
      assert.doesNotMatch(err.message, /network token/)
      return true
    })
  })
})
