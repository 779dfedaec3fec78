// Bitswap 1.2.0 for the embedded IPFS node: a Helia block broker (asks peers for blocks)
// and a block server (answers peers' wantlists), wire-compatible with Helia's and Kubo's
// bitswap. It replaces @helia/bitswap, which moved 100 MB between two node processes at
// ~40 MB/s on this hardware: its sender read every wanted block before sending the first,
// encoded each block twice into fresh message buffers, and every received block was
// copied and hashed twice. Here a sender streams each block as soon as it is read (a few
// reads ahead), a block goes to the connection without being copied, and a received block
// is hashed once (the memoizing hasher lets Helia's own verification reuse that digest).
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { BlockBroker, BlockRetrievalOptions, Routing } from '@helia/interface'
import type { Blockstore } from 'interface-blockstore'
import type { MultihashHasher } from 'multiformats/hashes/interface'
import { CID } from 'multiformats/cid'
import { peerIdFromCID } from '@libp2p/peer-id'
import { Uint8ArrayList } from 'uint8arraylist'
import { concat } from 'uint8arrays/concat'
import { pushable } from 'it-pushable'
import type { Logger } from '../../util/logger.js'
import { scope } from '../../network/scope.js'
import {
  BITSWAP_PROTOCOL,
  BitswapMessageError,
  decodeCidPrefix,
  decodeMessage,
  encodeBlockMessage,
  encodeCidPrefix,
  encodeControlMessage,
  PresenceType,
  WantType,
  type BitswapMessage,
  type Presence,
  type WantEntry,
  wantBlockEntry,
} from './message.js'

/** Largest incoming message: boxo's 4 MiB message limit plus framing. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024 + 1024
/** A want-have for a block up to this size is answered with the block itself (as boxo does). */
const MAX_SIZE_REPLACE_HAVE_WITH_BLOCK = 1024
/** Blocks read ahead of the one being sent, per peer. */
const READ_AHEAD = 8
/** Wants remembered per peer (queued + not held yet); more are ignored. */
const MAX_PEER_WANTS = 8192
/**
 * When no block has arrived for this long, open wants are sent again to every peer: a block
 * lost with a failed stream (its sender cannot tell what arrived) is asked for again. Only
 * a stalled exchange is re-asked, so a long transfer is never sent twice.
 */
const REBROADCAST_MS = 2_000
/** Without a block by then, look for providers through the routing (DHT). */
const PROVIDER_SEARCH_DELAY_MS = 1_000
const MAX_PROVIDERS_PER_SEARCH = 3
const PROVIDER_SEARCH_TIMEOUT_MS = 30_000
const STREAM_TIMEOUT_MS = 30_000
/** Received but unhandled bytes on one stream before it is paused. */
const READ_BACKLOG_BYTES = 8 * 1024 * 1024
const MAX_SEND_FAILURES = 3

export interface BitswapInit {
  libp2p: Libp2p
  /** The node's own blockstore (not Helia's networked one: serving must never fetch). */
  blockstore: Blockstore
  getHasher: (code: number) => Promise<MultihashHasher> | MultihashHasher
  routing: Pick<Routing, 'findProviders'>
  logger: Logger
}

interface Waiter {
  resolve(block: Uint8Array): void
  reject(err: Error): void
  dispose(): void
}

interface Want {
  cid: CID
  key: string
  waiters: Set<Waiter>
  sentTo: Set<string>
  dontHave: Set<string>
  lastSent: number
  searching: boolean
  searchTimer?: NodeJS.Timeout
  searchAbort?: AbortController
}

interface ServeRequest {
  cid: CID
  key: string
  wantType: WantType
  sendDontHave: boolean
}

interface PeerLedger {
  peer: PeerId
  queue: Map<string, ServeRequest>
  /** Wanted blocks this node does not hold (yet): served if they arrive. */
  missing: Map<string, ServeRequest>
  running: boolean
}

function multihashKey(cid: CID): string {
  const mh = cid.multihash.bytes
  return Buffer.from(mh.buffer, mh.byteOffset, mh.byteLength).toString('base64')
}

export class Bitswap implements BlockBroker {
  readonly name = 'bitswap'
  private readonly wants = new Map<string, Want>()
  private readonly unsent = new Set<Want>()
  private readonly cancels = new Map<string, CID[]>()
  private readonly ledgers = new Map<string, PeerLedger>()
  private readonly peers = new Map<string, PeerId>()
  private readonly controlQueues = new Map<string, Promise<void>>()
  private flushScheduled = false
  private running = false
  private topologyId?: string
  private rebroadcastTimer?: NodeJS.Timeout
  private lastBlockAt = 0
  private readonly log: Logger

  constructor(private readonly init: BitswapInit) {
    this.log = init.logger.child({ component: 'bitswap' })
  }

  async start(): Promise<void> {
    if (this.running) return
    this.running = true
    await this.init.libp2p.handle(
      BITSWAP_PROTOCOL,
      (stream, connection) => this.onStream(stream, connection),
      {
        maxInboundStreams: 1024,
        maxOutboundStreams: 1024,
        runOnLimitedConnection: false,
      },
    )
    this.topologyId = await this.init.libp2p.register(BITSWAP_PROTOCOL, {
      onConnect: (peer) => this.onPeerConnected(peer),
      onDisconnect: (peer) => this.onPeerDisconnected(peer),
    })
    this.rebroadcastTimer = setInterval(() => this.rebroadcast(), REBROADCAST_MS).unref()
    for (const conn of this.init.libp2p.getConnections()) {
      const protocols = await this.init.libp2p.peerStore
        .get(conn.remotePeer)
        .then((p) => p.protocols)
        .catch(() => [] as string[])
      if (protocols.includes(BITSWAP_PROTOCOL)) this.onPeerConnected(conn.remotePeer)
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    clearInterval(this.rebroadcastTimer)
    if (this.topologyId) this.init.libp2p.unregister(this.topologyId)
    await this.init.libp2p.unhandle(BITSWAP_PROTOCOL).catch(() => {})
    for (const want of this.wants.values()) this.fail(want, new Error('the IPFS node is stopping'))
    this.wants.clear()
    this.ledgers.clear()
    this.peers.clear()
  }

  // ---------------------------------------------------------------- client side

  /** Helia asks for a block it does not hold. */
  async retrieve(cid: CID, options: BlockRetrievalOptions = {}): Promise<Uint8Array> {
    const signal = options.signal
    signal?.throwIfAborted()
    if (!this.running) throw new Error('bitswap is not running')
    const key = multihashKey(cid)
    let want = this.wants.get(key)
    if (!want) {
      want = {
        cid,
        key,
        waiters: new Set(),
        sentTo: new Set(),
        dontHave: new Set(),
        lastSent: Date.now(),
        searching: false,
      }
      this.wants.set(key, want)
      this.unsent.add(want)
      this.scheduleFlush()
      const w = want
      w.searchTimer = setTimeout(() => this.searchProviders(w), PROVIDER_SEARCH_DELAY_MS).unref()
      if (this.peers.size === 0) this.searchProviders(w)
    }
    const w = want
    return new Promise<Uint8Array>((resolve, reject) => {
      const onAbort = () => {
        waiter.dispose()
        w.waiters.delete(waiter)
        reject(signal?.reason instanceof Error ? signal.reason : new Error('the block request was aborted'))
        if (w.waiters.size === 0) this.cancelWant(w)
      }
      const waiter: Waiter = {
        resolve,
        reject,
        dispose: () => signal?.removeEventListener('abort', onAbort),
      }
      w.waiters.add(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** A block arrived in the blockstore some other way: serve peers that wanted it. */
  async announce(cid: CID): Promise<void> {
    const key = multihashKey(cid)
    for (const ledger of this.ledgers.values()) {
      const req = ledger.missing.get(key)
      if (!req) continue
      ledger.missing.delete(key)
      ledger.queue.set(key, req)
      this.serve(ledger)
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    // Wants made in the same turn (an exporter asking for a file's leaves) go out as one
    // wantlist message per peer.
    setImmediate(() => {
      this.flushScheduled = false
      this.flush()
    })
  }

  private flush(): void {
    const fresh = [...this.unsent].filter((w) => this.wants.get(w.key) === w)
    this.unsent.clear()
    for (const [id, peer] of this.peers) {
      const entries: WantEntry[] = []
      for (const want of fresh) {
        if (want.sentTo.has(id)) continue
        want.sentTo.add(id)
        want.lastSent = Date.now()
        entries.push(wantBlockEntry(want.cid.bytes))
      }
      for (const cid of this.cancels.get(id) ?? [])
        entries.push({
          cid: cid.bytes,
          priority: 0,
          cancel: true,
          wantType: WantType.Block,
          sendDontHave: false,
        })
      this.cancels.delete(id)
      if (entries.length > 0)
        this.sendControl(peer, encodeControlMessage({ wantlist: { entries, full: false } }))
    }
    this.cancels.clear()
  }

  private rebroadcast(): void {
    const now = Date.now()
    if (now - this.lastBlockAt < REBROADCAST_MS) return
    const stale = [...this.wants.values()].filter((w) => now - w.lastSent >= REBROADCAST_MS)
    if (stale.length === 0) return
    for (const want of stale) {
      want.lastSent = now
      want.dontHave.clear()
    }
    for (const [id, peer] of this.peers) {
      const entries = stale.map((want) => {
        want.sentTo.add(id)
        return wantBlockEntry(want.cid.bytes)
      })
      this.sendControl(peer, encodeControlMessage({ wantlist: { entries, full: false } }))
    }
  }

  private cancelWant(want: Want): void {
    if (this.wants.get(want.key) !== want) return
    this.wants.delete(want.key)
    this.unsent.delete(want)
    clearTimeout(want.searchTimer)
    want.searchAbort?.abort()
    for (const id of want.sentTo) {
      if (!this.peers.has(id)) continue
      const list = this.cancels.get(id) ?? []
      list.push(want.cid)
      this.cancels.set(id, list)
    }
    if (want.sentTo.size > 0) this.scheduleFlush()
  }

  private fulfil(want: Want, block: Uint8Array, from?: string): void {
    for (const waiter of want.waiters) {
      waiter.dispose()
      waiter.resolve(block)
    }
    want.waiters.clear()
    want.sentTo.delete(from ?? '')
    this.cancelWant(want)
  }

  private fail(want: Want, err: Error): void {
    clearTimeout(want.searchTimer)
    want.searchAbort?.abort()
    for (const waiter of want.waiters) {
      waiter.dispose()
      waiter.reject(err)
    }
    want.waiters.clear()
  }

  /** Finds providers of a wanted block through the routing and connects to them. */
  private searchProviders(want: Want): void {
    if (want.searching || this.wants.get(want.key) !== want || !this.running) return
    want.searching = true
    clearTimeout(want.searchTimer)
    const ac = new AbortController()
    want.searchAbort = ac
    const sc = scope({ timeoutMs: PROVIDER_SEARCH_TIMEOUT_MS, parents: [ac.signal] })
    void (async () => {
      let found = 0
      for await (const provider of this.init.routing.findProviders(want.cid, { signal: sc.signal })) {
        const peer = peerIdFromCID(provider.id)
        if (peer.equals(this.init.libp2p.peerId)) continue
        if (this.peers.has(peer.toString()) && want.sentTo.has(peer.toString())) continue
        try {
          if (provider.multiaddrs.length > 0)
            await this.init.libp2p.peerStore.merge(peer, { multiaddrs: provider.multiaddrs })
          await this.init.libp2p.dial(peer, { signal: sc.signal })
          // The topology's onConnect sends this peer the wantlist.
          if (++found >= MAX_PROVIDERS_PER_SEARCH) break
        } catch (err) {
          this.log.debug({ provider: peer.toString(), err: (err as Error).message }, 'cannot dial provider')
        }
      }
    })()
      .catch((err: Error) => {
        if (!ac.signal.aborted)
          this.log.debug({ cid: want.cid.toString(), err: err.message }, 'provider search failed')
      })
      .finally(() => {
        sc.dispose()
        want.searching = false
        // Not found yet and still wanted: look again later.
        if (this.wants.get(want.key) === want && this.running)
          want.searchTimer = setTimeout(
            () => this.searchProviders(want),
            PROVIDER_SEARCH_DELAY_MS * 5,
          ).unref()
      })
  }

  private onPeerConnected(peer: PeerId): void {
    const id = peer.toString()
    if (this.peers.has(id) || !this.running) return
    this.peers.set(id, peer)
    const entries: WantEntry[] = []
    for (const want of this.wants.values()) {
      want.sentTo.add(id)
      entries.push(wantBlockEntry(want.cid.bytes))
    }
    if (entries.length > 0)
      this.sendControl(peer, encodeControlMessage({ wantlist: { entries, full: true } }))
  }

  private onPeerDisconnected(peer: PeerId): void {
    const id = peer.toString()
    this.peers.delete(id)
    this.ledgers.delete(id)
    this.cancels.delete(id)
    for (const want of this.wants.values()) {
      want.sentTo.delete(id)
      want.dontHave.delete(id)
    }
  }

  /** Small messages (wants, cancels, presences) to one peer, in order, each on a new stream. */
  private sendControl(peer: PeerId, bytes: Uint8Array): void {
    const id = peer.toString()
    const prev = this.controlQueues.get(id) ?? Promise.resolve()
    const next = prev.then(async () => {
      const sc = scope({ timeoutMs: STREAM_TIMEOUT_MS })
      let stream: Stream | undefined
      try {
        stream = await this.init.libp2p.dialProtocol(peer, BITSWAP_PROTOCOL, { signal: sc.signal })
        await this.write(stream, bytes)
        await stream.close({ signal: sc.signal })
      } catch (err) {
        stream?.abort(err as Error)
        this.log.debug({ peer: id, err: (err as Error).message }, 'cannot send bitswap message')
      } finally {
        sc.dispose()
      }
    })
    this.controlQueues.set(id, next)
    void next.finally(() => {
      if (this.controlQueues.get(id) === next) this.controlQueues.delete(id)
    })
  }

  /** Writes with backpressure; a peer that stops reading for STREAM_TIMEOUT_MS fails the write. */
  private async write(stream: Stream, data: Uint8Array | Uint8ArrayList): Promise<void> {
    if (!stream.send(data)) await stream.onDrain({ signal: AbortSignal.timeout(STREAM_TIMEOUT_MS) })
  }

  // ---------------------------------------------------------------- incoming streams

  private onStream(stream: Stream, connection: Connection): void {
    const peer = connection.remotePeer
    void this.readMessages(stream, peer).catch((err: Error) => {
      this.log.debug({ peer: peer.toString(), err: err.message }, 'bitswap stream failed')
      stream.abort(err)
    })
  }

  private async readMessages(stream: Stream, peer: PeerId): Promise<void> {
    // Listen before anything else: data that arrives while nobody listens piles up in the
    // stream's read buffer, which aborts the stream past 4 MiB.
    const input = pushable<Uint8Array | Uint8ArrayList>({ objectMode: false })
    let paused = false
    stream.addEventListener('message', (evt) => {
      input.push(evt.data)
      // Backpressure: stop the muxer granting window while a backlog waits to be handled.
      if (!paused && input.readableLength > READ_BACKLOG_BYTES && stream.status === 'open') {
        paused = true
        stream.pause()
      }
    })
    stream.addEventListener('remoteCloseWrite', () => input.end())
    stream.addEventListener('close', (evt) => input.end(evt.error))
    // Nothing is ever answered on the same stream: replies go on streams of our own.
    await stream.close()
    const buf = new Uint8ArrayList()
    const idleTimer = () =>
      setTimeout(() => stream.abort(new Error('bitswap stream idle')), STREAM_TIMEOUT_MS).unref()
    let idle = idleTimer()
    try {
      for await (const chunk of input) {
        clearTimeout(idle)
        idle = idleTimer()
        if (paused && input.readableLength < READ_BACKLOG_BYTES / 2 && stream.status === 'open') {
          paused = false
          stream.resume()
        }
        buf.append(chunk)
        for (;;) {
          const frame = nextFrame(buf)
          if (!frame) break
          const bytes = buf.subarray(frame.start, frame.end)
          buf.consume(frame.end)
          await this.onMessage(peer, decodeMessage(bytes))
        }
      }
      if (buf.byteLength > 0) throw new BitswapMessageError('stream ended inside a message')
    } finally {
      clearTimeout(idle)
    }
  }

  private async onMessage(peer: PeerId, msg: BitswapMessage): Promise<void> {
    const id = peer.toString()
    for (const block of msg.blocks) await this.onBlock(id, block.prefix, block.data)
    for (const data of msg.rawBlocks) await this.onBlock(id, undefined, data)
    for (const p of msg.presences) this.onPresence(id, p)
    if (msg.wantlist) this.onWantlist(peer, msg.wantlist)
  }

  private async onBlock(from: string, prefix: Uint8Array | undefined, data: Uint8Array): Promise<void> {
    // Bitswap 1.0.0 blocks carry no prefix: they are CIDv0 (dag-pb, sha2-256).
    const { version, codec, hashCode, hashLength } = prefix
      ? decodeCidPrefix(prefix)
      : { version: 0, codec: 0x70, hashCode: 0x12, hashLength: 32 }
    const hasher = await this.init.getHasher(hashCode)
    const digest = await hasher.digest(data, { truncate: hashLength })
    const cid = CID.create(version as 0 | 1, codec, digest)
    const want = this.wants.get(multihashKey(cid))
    if (!want) return // unasked-for blocks are dropped
    this.lastBlockAt = Date.now()
    this.fulfil(want, data, from)
  }

  private onPresence(from: string, p: Presence): void {
    if (p.type !== PresenceType.DontHave) return
    let key: string
    try {
      key = multihashKey(CID.decode(p.cid))
    } catch {
      return
    }
    const want = this.wants.get(key)
    if (!want) return
    want.dontHave.add(from)
    const everyoneSaidNo = [...want.sentTo].every((id) => want.dontHave.has(id))
    if (everyoneSaidNo) this.searchProviders(want)
  }

  // ---------------------------------------------------------------- server side

  private onWantlist(peer: PeerId, wantlist: { entries: WantEntry[]; full: boolean }): void {
    const id = peer.toString()
    let ledger = this.ledgers.get(id)
    if (!ledger) {
      ledger = { peer, queue: new Map(), missing: new Map(), running: false }
      this.ledgers.set(id, ledger)
    }
    if (wantlist.full) {
      ledger.queue.clear()
      ledger.missing.clear()
    }
    for (const entry of wantlist.entries) {
      let cid: CID
      try {
        cid = CID.decode(entry.cid)
      } catch {
        continue // a malformed CID is ignored, as boxo does
      }
      const key = multihashKey(cid)
      if (entry.cancel) {
        ledger.queue.delete(key)
        ledger.missing.delete(key)
        continue
      }
      if (!ledger.queue.has(key) && ledger.queue.size + ledger.missing.size >= MAX_PEER_WANTS) continue
      ledger.missing.delete(key)
      ledger.queue.set(key, { cid, key, wantType: entry.wantType, sendDontHave: entry.sendDontHave })
    }
    this.serve(ledger)
  }

  private async readLocal(cid: CID): Promise<Uint8Array | undefined> {
    try {
      const chunks: Uint8Array[] = []
      let total = 0
      for await (const c of this.init.blockstore.get(cid)) {
        chunks.push(c)
        total += c.byteLength
      }
      return chunks.length === 1 ? chunks[0] : concat(chunks, total)
    } catch {
      return undefined
    }
  }

  /** Sends a peer what it asked for, in order, reading a few blocks ahead of the sender. */
  private serve(ledger: PeerLedger): void {
    if (ledger.running || !this.running) return
    ledger.running = true
    void this.serveLoop(ledger).finally(() => {
      ledger.running = false
      if (ledger.queue.size > 0 && this.ledgers.get(ledger.peer.toString()) === ledger) this.serve(ledger)
    })
  }

  private async serveLoop(ledger: PeerLedger): Promise<void> {
    let failures = 0
    while (ledger.queue.size > 0 && this.running && failures < MAX_SEND_FAILURES) {
      let stream: Stream | undefined
      const inflight: Array<{ req: ServeRequest; read: Promise<Uint8Array | undefined> }> = []
      const refill = () => {
        while (inflight.length < READ_AHEAD && ledger.queue.size > 0) {
          const [key, req] = ledger.queue.entries().next().value as [string, ServeRequest]
          ledger.queue.delete(key)
          inflight.push({ req, read: this.readLocal(req.cid) })
        }
      }
      const open = async (): Promise<Stream> => {
        stream ??= await this.init.libp2p.dialProtocol(ledger.peer, BITSWAP_PROTOCOL, {
          signal: AbortSignal.timeout(STREAM_TIMEOUT_MS),
        })
        return stream
      }
      let presences: Presence[] = []
      const flushPresences = async () => {
        if (presences.length === 0) return
        const bytes = encodeControlMessage({ presences })
        presences = []
        await this.write(await open(), bytes)
      }
      try {
        refill()
        while (inflight.length > 0) {
          const { req, read } = inflight.shift()!
          refill()
          const block = await read
          if (block === undefined) {
            ledger.missing.set(req.key, req)
            if (req.sendDontHave) presences.push({ cid: req.cid.bytes, type: PresenceType.DontHave })
          } else if (req.wantType === WantType.Have && block.byteLength > MAX_SIZE_REPLACE_HAVE_WITH_BLOCK) {
            presences.push({ cid: req.cid.bytes, type: PresenceType.Have })
          } else {
            await flushPresences()
            await this.write(await open(), encodeBlockMessage(encodeCidPrefix(req.cid), block))
          }
        }
        await flushPresences()
        if (stream) await stream.close({ signal: AbortSignal.timeout(STREAM_TIMEOUT_MS) })
        failures = 0
      } catch (err) {
        failures++
        stream?.abort(err as Error)
        // What was read but not sent goes back to the front of the queue.
        const retry = new Map(inflight.map(({ req }) => [req.key, req]))
        for (const [k, v] of ledger.queue) retry.set(k, v)
        ledger.queue = retry
        this.log.debug(
          { peer: ledger.peer.toString(), err: (err as Error).message, stream: stream?.status },
          'bitswap send failed',
        )
      }
    }
    if (failures >= MAX_SEND_FAILURES) ledger.queue.clear()
  }
}

/** The next complete length-prefixed frame in `buf`, if one has fully arrived. */
function nextFrame(buf: Uint8ArrayList): { start: number; end: number } | undefined {
  let len = 0
  for (let i = 0; i < buf.byteLength; i++) {
    if (i >= 5) throw new BitswapMessageError('message length prefix longer than 5 bytes')
    const b = buf.get(i)
    len += (b & 0x7f) * 2 ** (7 * i)
    if ((b & 0x80) === 0) {
      if (len > MAX_MESSAGE_BYTES)
        throw new BitswapMessageError(`message of ${len} bytes exceeds the ${MAX_MESSAGE_BYTES}-byte limit`)
      const start = i + 1
      return buf.byteLength >= start + len ? { start, end: start + len } : undefined
    }
  }
  return undefined
}
