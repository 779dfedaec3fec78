// The project's bitswap: its wire codec, and blocks moving both ways between our IPFS node
// and a stock Helia node running @helia/bitswap (the same protocol Kubo speaks), over real
// libp2p connections on loopback.
import '../../src/polyfills.js'
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { createHeliaLight, type Helia } from 'helia'
import { withLibp2pLight } from '@helia/libp2p'
import { withBitswap } from '@helia/bitswap'
import { unixfs } from '@helia/unixfs'
import { MemoryBlockstore } from 'blockstore-core'
import { MemoryDatastore } from 'datastore-core'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import {
  BITSWAP_PROTOCOL,
  BitswapMessageError,
  decodeCidPrefix,
  decodeMessage,
  encodeCidPrefix,
  encodeBlockMessage,
  encodeControlMessage,
  PresenceType,
  WantType,
} from '../../src/ipfs/bitswap/message.js'
import { startIpfsNode, type IpfsNode } from '../../src/ipfs/node.js'
import { addPath, exportCid } from '../../src/ipfs/files.js'
import { libp2pOptions } from '../../src/network/host.js'
import { memoizingSha256 } from '../../src/ipfs/hasher.js'
import { silent } from './network-helpers.js'

function unprefix(bytes: Uint8Array): Uint8Array {
  let len = 0
  let i = 0
  for (; ; i++) {
    const b = bytes[i]!
    len += (b & 0x7f) * 2 ** (7 * i)
    if ((b & 0x80) === 0) break
  }
  assert.equal(bytes.byteLength, i + 1 + len, 'the length prefix covers exactly the message')
  return bytes.subarray(i + 1)
}

describe('bitswap message codec', () => {
  it('round-trips wants, cancels and presences', async () => {
    const cid = CID.create(1, raw.code, await sha256.digest(new Uint8Array([1, 2, 3])))
    const bytes = encodeControlMessage({
      wantlist: {
        full: true,
        entries: [
          { cid: cid.bytes, priority: 7, cancel: false, wantType: WantType.Have, sendDontHave: true },
          { cid: cid.bytes, priority: 0, cancel: true, wantType: WantType.Block, sendDontHave: false },
        ],
      },
      presences: [{ cid: cid.bytes, type: PresenceType.DontHave }],
    })
    const msg = decodeMessage(unprefix(bytes))
    assert.equal(msg.wantlist?.full, true)
    assert.equal(msg.wantlist?.entries.length, 2)
    const [a, b] = msg.wantlist!.entries
    assert.deepEqual(CID.decode(a!.cid).toString(), cid.toString())
    assert.equal(a!.priority, 7)
    assert.equal(a!.wantType, WantType.Have)
    assert.equal(a!.sendDontHave, true)
    assert.equal(b!.cancel, true)
    assert.equal(msg.presences[0]!.type, PresenceType.DontHave)
  })

  it('frames a block without copying it, and decodes it back', () => {
    const data = randomBytes(300_000)
    const prefix = Uint8Array.from([1, 0x55, 0x12, 32])
    const list = encodeBlockMessage(prefix, data)
    assert.ok(
      [...list].some((part) => part.buffer === data.buffer && part.byteOffset === data.byteOffset),
      'the block itself is one of the parts sent',
    )
    const msg = decodeMessage(unprefix(list.subarray()))
    assert.equal(msg.blocks.length, 1)
    assert.deepEqual(msg.blocks[0]!.prefix, prefix)
    assert.ok(Buffer.from(msg.blocks[0]!.data).equals(data))
  })

  it('encodes and decodes CID prefixes, refusing a truncated one', async () => {
    const cid = CID.create(1, raw.code, await sha256.digest(new Uint8Array([9])))
    const prefix = encodeCidPrefix(cid)
    assert.deepEqual(prefix, Uint8Array.from([1, 0x55, 0x12, 32]))
    assert.deepEqual(decodeCidPrefix(Uint8Array.from([1, 0x70, 0x12, 32])), {
      version: 1,
      codec: 0x70,
      hashCode: 0x12,
      hashLength: 32,
    })
    assert.throws(() => decodeCidPrefix(Uint8Array.from([1, 0x55])), BitswapMessageError)
  })

  it('refuses malformed messages with a BitswapMessageError and never anything else', () => {
    const cases: Uint8Array[] = [
      Uint8Array.from([0x0a, 0x05, 0x01]), // wantlist field longer than the message
      Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // endless varint
      Uint8Array.from([0x1a, 0x02, 0x0a, 0x00]), // block without data
      Uint8Array.from([0x08, 0x01]), // wantlist with a varint wire type
      Uint8Array.from([0x0b]), // wire type 3 (groups)
    ]
    for (const bytes of cases)
      assert.throws(
        () => decodeMessage(bytes),
        BitswapMessageError,
        `bytes ${Buffer.from(bytes).toString('hex')}`,
      )
    for (let i = 0; i < 2000; i++) {
      try {
        decodeMessage(randomBytes(1 + (i % 64)))
      } catch (err) {
        assert.ok(
          err instanceof BitswapMessageError,
          `unexpected ${(err as Error).name}: ${(err as Error).message}`,
        )
      }
    }
  })
})

async function stockHelia(): Promise<Helia & { libp2p: { dial: (a: unknown) => Promise<unknown> } }> {
  const helia = withBitswap(
    withLibp2pLight(
      createHeliaLight({ blockstore: new MemoryBlockstore(), datastore: new MemoryDatastore() }),
      libp2pOptions({
        privateKey: await generateKeyPair('Ed25519'),
        listen: ['/ip4/127.0.0.1/tcp/0'],
      }) as never,
    ),
  )
  await helia.start()
  return helia as never
}

async function ourNode(dataDir?: string): Promise<IpfsNode> {
  return startIpfsNode({
    privateKey: await generateKeyPair('Ed25519'),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    logger: silent,
    dataDir,
  })
}

function sha(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}

describe('bitswap between our node and a stock Helia node', () => {
  let tmp: string
  let ours: IpfsNode
  let stock: Awaited<ReturnType<typeof stockHelia>>
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bitswap-'))
    ours = await ourNode(path.join(tmp, 'ours'))
    stock = await stockHelia()
    await stock.libp2p.dial(ours.host.getMultiaddrs()[0]!)
  })
  after(async () => {
    await ours?.stop()
    await stock?.stop()
    fs.rmSync(tmp, { recursive: true, force: true })
  })

  it('serves a multi-block file to @helia/bitswap', async () => {
    const file = path.join(tmp, 'served.bin')
    fs.writeFileSync(file, randomBytes(5 * 1024 * 1024 + 123))
    const cid = await addPath(ours.helia, file)
    const chunks: Uint8Array[] = []
    for await (const c of unixfs(stock).cat(cid, { signal: AbortSignal.timeout(20_000) })) chunks.push(c)
    assert.equal(createHash('sha256').update(Buffer.concat(chunks)).digest('hex'), sha(file))
  })

  it('fetches a folder from @helia/bitswap into the node and onto disk', async () => {
    const dir = path.join(tmp, 'dataset')
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true })
    fs.writeFileSync(path.join(dir, 'a.txt'), 'alpha\n')
    fs.writeFileSync(path.join(dir, 'sub', 'big.bin'), randomBytes(3 * 1024 * 1024))
    const cid = await addPath(stock, dir)
    const dest = path.join(tmp, 'fetched')
    await exportCid(ours.helia, cid, dest, AbortSignal.timeout(20_000))
    assert.equal(fs.readFileSync(path.join(dest, 'a.txt'), 'utf8'), 'alpha\n')
    assert.equal(sha(path.join(dest, 'sub', 'big.bin')), sha(path.join(dir, 'sub', 'big.bin')))
    assert.ok(await ours.helia.blockstore.has(cid, { offline: true } as never), 'the blocks are kept locally')
  })

  it('gives up on a CID nobody has when the caller stops waiting, and keeps working', async () => {
    const missing = CID.create(1, raw.code, await sha256.digest(randomBytes(32)))
    const started = Date.now()
    await assert.rejects(
      exportCid(ours.helia, missing, path.join(tmp, 'never'), AbortSignal.timeout(1500)),
      (err: Error) => /abort|timed out|timeout|failed to load block/i.test(`${err.name} ${err.message}`),
    )
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`)
    const file = path.join(tmp, 'after.bin')
    fs.writeFileSync(file, randomBytes(200_000))
    const cid = await addPath(ours.helia, file)
    const chunks: Uint8Array[] = []
    for await (const c of unixfs(stock).cat(cid, { signal: AbortSignal.timeout(10_000) })) chunks.push(c)
    assert.equal(Buffer.concat(chunks).byteLength, 200_000)
  })

  it('survives garbage on the bitswap protocol and still serves the same peer', async () => {
    const stream = await (
      stock.libp2p as unknown as {
        dialProtocol(a: unknown, p: string): Promise<{ send(b: Uint8Array): boolean; close(): Promise<void> }>
      }
    ).dialProtocol(ours.host.peerId, BITSWAP_PROTOCOL)
    stream.send(Uint8Array.from([0x05, 0xff, 0xff, 0xff, 0xff, 0xff]))
    await stream.close().catch(() => {})
    const tooBig = await (
      stock.libp2p as unknown as {
        dialProtocol(a: unknown, p: string): Promise<{ send(b: Uint8Array): boolean; close(): Promise<void> }>
      }
    ).dialProtocol(ours.host.peerId, BITSWAP_PROTOCOL)
    tooBig.send(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f])) // a 4 GiB message announced
    await tooBig.close().catch(() => {})
    const file = path.join(tmp, 'still.bin')
    fs.writeFileSync(file, randomBytes(1_500_000))
    const cid = await addPath(ours.helia, file)
    const chunks: Uint8Array[] = []
    for await (const c of unixfs(stock).cat(cid, { signal: AbortSignal.timeout(10_000) })) chunks.push(c)
    assert.equal(Buffer.concat(chunks).byteLength, 1_500_000)
  })
})

describe('bitswap between two of our nodes', () => {
  it('moves a file between two closed-network nodes that share a token', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bitswap2-'))
    const opts = async (name: string) => ({
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      token: 'shared-token',
      logger: silent,
      dataDir: path.join(tmp, name),
    })
    const a = await startIpfsNode(await opts('a'))
    const b = await startIpfsNode(await opts('b'))
    try {
      await b.host.dial(multiaddr(a.host.getMultiaddrs()[0]!.toString()))
      const file = path.join(tmp, 'blob')
      fs.writeFileSync(file, randomBytes(4 * 1024 * 1024 + 7))
      const cid = await addPath(a.helia, file)
      await exportCid(b.helia, cid, path.join(tmp, 'copy'), AbortSignal.timeout(20_000))
      assert.equal(sha(path.join(tmp, 'copy')), sha(file))
    } finally {
      await b.stop()
      await a.stop()
      fs.rmSync(tmp, { recursive: true, force: true })
    }
  })
})

describe('bitswap recovery', () => {
  it('completes a transfer whose block stream is reset half way, by asking again', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bitswap-reset-'))
    const a = await ourNode(path.join(tmp, 'a'))
    const b = await ourNode(path.join(tmp, 'b'))
    try {
      await b.host.dial(multiaddr(a.host.getMultiaddrs()[0]!.toString()))
      const file = path.join(tmp, 'blob')
      fs.writeFileSync(file, randomBytes(24 * 1024 * 1024))
      const cid = await addPath(a.helia, file)
      // Reset the first block stream that reaches b once some blocks have flowed: the blocks
      // in flight on it are lost and the sender cannot tell which.
      let resets = 0
      const watcher = setInterval(() => {
        for (const conn of b.host.getConnections())
          for (const stream of conn.streams)
            if (resets === 0 && stream.protocol === BITSWAP_PROTOCOL && stream.direction === 'inbound') {
              resets++
              stream.abort(new Error('test: reset'))
            }
      }, 20)
      try {
        await exportCid(b.helia, cid, path.join(tmp, 'copy'), AbortSignal.timeout(30_000))
      } finally {
        clearInterval(watcher)
      }
      assert.equal(resets, 1, 'a stream was reset during the transfer')
      assert.equal(sha(path.join(tmp, 'copy')), sha(file))
    } finally {
      await b.stop()
      await a.stop()
      fs.rmSync(tmp, { recursive: true, force: true })
    }
  })
})

describe('memoizing sha2-256', () => {
  it('hashes each bytes object once and still hashes other objects with equal content', async () => {
    const h = memoizingSha256()
    const data = randomBytes(1000)
    const d1 = await h.digest(data)
    const d2 = await h.digest(data)
    assert.equal(h.computed(), 1)
    assert.deepEqual(d1.bytes, d2.bytes)
    assert.deepEqual(d1.bytes, (await sha256.digest(data)).bytes)
    const copy = Uint8Array.from(data)
    copy[0] = copy[0]! ^ 1
    assert.notDeepEqual((await h.digest(copy)).bytes, d1.bytes)
    assert.equal(h.computed(), 2)
  })
})
