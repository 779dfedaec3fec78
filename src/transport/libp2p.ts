// The Transport between processes: orchestrator and compute exchange the messages of
// protocols/compute-v1.md over direct libp2p streams (never gossip, which is only for node
// announcements). One instance serves both sides on one host, so a hybrid node talks to
// its own half in-process and to remote peers over the network through the same object.
import type { Connection, IdentifyResult, Libp2p, PeerId, Stream, StreamHandler } from '@libp2p/interface'
import type { GossipSub } from '@libp2p/gossipsub'
import { peerIdFromString } from '@libp2p/peer-id'
import type { z } from 'zod'
import {
  ComputeMessageSchema,
  LogRequestSchema,
  OrchestratorMessageSchema,
  type ComputeMessage,
  type LogEntry,
  type LogRequest,
  type OrchestratorMessage,
} from '../protocols/messages.js'
import type { Logger } from '../util/logger.js'
import { stringifyJson } from '../models/json.js'
import {
  AckSchema,
  BatchFrameSchema,
  MAX_BATCH,
  FRAME_TIMEOUT_MS,
  FrameError,
  LogEndFrameSchema,
  LogEntryFrameSchema,
  LogErrorFrameSchema,
  MAX_FRAME_BYTES,
  describeZodError,
  encodeJson,
  jsonFrames,
  readJson,
  writeJson,
  type Ack,
  type ItemAck,
} from '../network/frames.js'
import { DEFAULT_DIAL_TIMEOUT_MS, dialPeer } from '../network/host.js'
import { NodeBindings, NodeGossip, type NodeInfoUpdate } from '../network/node-gossip.js'
import { scope } from '../network/scope.js'
import { COMPUTE_PROTOCOL, LOGS_PROTOCOL, ORCHESTRATOR_PROTOCOL } from '../network/protocols.js'
import type { ComputeTransport, OrchestratorTransport } from './types.js'

export { COMPUTE_PROTOCOL, LOGS_PROTOCOL, ORCHESTRATOR_PROTOCOL }

type Handler<T> = (message: T) => void | Promise<void>
type LogHandler = (request: LogRequest, signal: AbortSignal) => AsyncIterable<LogEntry>

export interface Libp2pTransportOptions {
  /** A started host; the caller owns it (stop() leaves it running). */
  host: Libp2p
  logger: Logger
  /** Which halves this node runs: decides which protocols it serves. */
  roles: { orchestrator?: boolean; compute?: boolean }
  /**
   * This node's own NodeID. It is bound to this host's peer at once, so no remote peer can
   * announce itself under it (a hybrid node whose compute half talks in-process, or an
   * orchestrator listed in its own node table).
   */
  localNodeId?: string
  /** Compute side: orchestrator addresses to dial and keep connected (Compute.Orchestrators). */
  orchestrators?: string[]
  /** Node gossip to use; by default one is made on the host's `pubsub` service if it has one. */
  gossip?: NodeGossip
  dialTimeoutMs?: number
  /** Bound on one request: open stream, send, get the ack. */
  requestTimeoutMs?: number
  /** Bound on waiting for one expected inbound frame. */
  frameTimeoutMs?: number
  maxFrameBytes?: number
  /** Tries per request when the stream cannot be opened. */
  requestAttempts?: number
  reconnectInitialMs?: number
  reconnectMaxMs?: number
}

/** Executions whose origin we remember; the oldest are forgotten beyond this. */
const MAX_TRACKED_EXECUTIONS = 100_000

class Rejected extends Error {
  override name = 'Rejected'
}

export class Libp2pTransport {
  readonly orchestrator: OrchestratorTransport
  readonly compute: ComputeTransport
  readonly bindings: NodeBindings
  readonly gossip?: NodeGossip

  private readonly host: Libp2p
  private readonly self: string
  private readonly log: Logger
  private readonly roles: { orchestrator: boolean; compute: boolean }
  private readonly orchestratorAddrs: string[]
  private readonly dialTimeoutMs: number
  private readonly requestTimeoutMs: number
  private readonly frameTimeoutMs: number
  private readonly maxFrameBytes: number
  private readonly requestAttempts: number
  private readonly reconnectInitialMs: number
  private readonly reconnectMaxMs: number

  private orchestratorHandler?: Handler<ComputeMessage>
  private computeHandler?: Handler<OrchestratorMessage>
  private logHandler?: LogHandler

  /** Peers known to be orchestrators (peer ID string → PeerId). */
  private readonly orchestratorPeers = new Map<string, PeerId>()
  /** Execution ID → peer ID of the orchestrator that asked for it. */
  private readonly executionOrigin = new Map<string, string>()
  /** Orchestrators told our node info since their current connection opened. */
  private readonly announced = new Set<string>()
  private lastNodeInfo?: NodeInfoUpdate
  private readonly disconnectWaiters = new Map<string, Set<() => void>>()
  private readonly active = new Set<Stream>()
  private readonly pendingBatches = new Map<string, PendingBatch>()
  private readonly handled: string[] = []
  private readonly loops: Promise<void>[] = []
  private closing = new AbortController()
  private state: 'new' | 'started' | 'stopped' = 'new'

  constructor(opts: Libp2pTransportOptions) {
    this.host = opts.host
    this.self = opts.host.peerId.toString()
    this.log = opts.logger.child({ component: 'libp2p-transport' })
    this.roles = { orchestrator: !!opts.roles.orchestrator, compute: !!opts.roles.compute }
    this.orchestratorAddrs = [...new Set(opts.orchestrators ?? [])]
    this.dialTimeoutMs = opts.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000
    this.frameTimeoutMs = opts.frameTimeoutMs ?? FRAME_TIMEOUT_MS
    this.maxFrameBytes = opts.maxFrameBytes ?? MAX_FRAME_BYTES
    this.requestAttempts = Math.max(1, opts.requestAttempts ?? 3)
    this.reconnectInitialMs = opts.reconnectInitialMs ?? 1_000
    this.reconnectMaxMs = opts.reconnectMaxMs ?? 30_000

    const pubsub = (opts.host.services as { pubsub?: GossipSub }).pubsub
    this.gossip = opts.gossip ?? (pubsub ? new NodeGossip({ pubsub, logger: opts.logger }) : undefined)
    this.bindings = this.gossip?.bindings ?? new NodeBindings(this.log)
    if (opts.localNodeId) this.bindings.claim(opts.localNodeId, this.self, 'local')
    // Registered once: NodeGossip has no removal, and stop() makes the handler inert.
    if (this.roles.orchestrator)
      this.gossip?.onNodeInfo((update, from) => {
        if (this.state !== 'started') return
        return this.acceptFromCompute(update, from.toString()).catch((err: Error) =>
          this.log.debug({ peer: from.toString(), reason: err.message }, 'gossiped node info not accepted'),
        )
      })

    this.orchestrator = {
      sendToCompute: (nodeId, message) => this.sendToCompute(nodeId, message),
      onComputeMessage: (handler) => {
        this.orchestratorHandler = handler
      },
      streamLogs: (nodeId, request, signal) => this.streamLogs(nodeId, request, signal),
    }
    this.compute = {
      sendToOrchestrator: (message) => this.sendToOrchestrator(message),
      onOrchestratorMessage: (handler) => {
        this.computeHandler = handler
      },
      onLogRequest: (handler) => {
        this.logHandler = handler
      },
    }
  }

  // ------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    if (this.state === 'started') return
    if (this.state === 'stopped') this.closing = new AbortController()
    this.state = 'started'
    if (this.roles.compute) {
      await this.serve(COMPUTE_PROTOCOL, (s, c) => this.serveRequest(s, c, COMPUTE_PROTOCOL), 256)
      await this.serve(LOGS_PROTOCOL, (s, c) => this.serveLogs(s, c), 64)
    }
    if (this.roles.orchestrator)
      await this.serve(ORCHESTRATOR_PROTOCOL, (s, c) => this.serveRequest(s, c, ORCHESTRATOR_PROTOCOL), 256)
    this.gossip?.start()
    this.host.addEventListener('peer:disconnect', this.onDisconnect)
    if (this.roles.compute) {
      this.host.addEventListener('peer:identify', this.onIdentify)
      for (const addr of this.orchestratorAddrs) this.loops.push(this.keepConnected(addr))
    }
  }

  /** Stops serving, closes this transport's streams and reconnect loops; the host stays up. */
  async stop(): Promise<void> {
    if (this.state !== 'started') return
    this.state = 'stopped'
    this.closing.abort(new Error('transport stopped'))
    this.host.removeEventListener('peer:disconnect', this.onDisconnect)
    this.host.removeEventListener('peer:identify', this.onIdentify)
    for (const waiters of this.disconnectWaiters.values()) for (const w of waiters) w()
    this.disconnectWaiters.clear()
    this.gossip?.stop()
    await Promise.allSettled(this.handled.splice(0).map((p) => this.host.unhandle(p)))
    for (const s of this.active) s.abort(new Error('transport stopped'))
    this.active.clear()
    await Promise.allSettled(this.loops.splice(0))
    this.announced.clear()
  }

  // ------------------------------------------------------------------ accessors

  /** Orchestrator peers this compute side currently has a connection to. */
  connectedOrchestrators(): PeerId[] {
    return [...this.orchestratorPeers.values()].filter((p) => this.host.getConnections(p).length > 0)
  }

  /** The peer a compute node announced itself from, if any. */
  peerIdOf(nodeId: string): string | undefined {
    return this.bindings.peerOf(nodeId)
  }

  /** Releases a NodeID (e.g. after `node delete`), so it may be announced from another peer. */
  forgetNode(nodeId: string): void {
    this.bindings.forget(nodeId)
  }

  // ------------------------------------------------------------------ orchestrator side

  private async sendToCompute(nodeId: string, message: OrchestratorMessage): Promise<void> {
    const peer = this.bindings.peerOf(nodeId)
    if (!peer)
      throw new Error(`compute node ${nodeId} is unknown to this orchestrator: no node info received from it`)
    if (peer === this.self) return this.acceptFromOrchestrator(structuredClone(message), this.self, true)
    try {
      await this.batched(peer, COMPUTE_PROTOCOL, message)
    } catch (err) {
      throw new Error(`${message.type} to compute node ${nodeId}: ${(err as Error).message}`, { cause: err })
    }
  }

  private async *streamLogs(
    nodeId: string,
    request: LogRequest,
    signal: AbortSignal,
  ): AsyncGenerator<LogEntry> {
    const peer = this.bindings.peerOf(nodeId)
    if (!peer)
      throw new Error(`compute node ${nodeId} is unknown to this orchestrator: no node info received from it`)
    if (peer === this.self) {
      if (!this.logHandler || !this.roles.compute) throw new Error(`compute node ${nodeId} serves no logs`)
      yield* this.logHandler(structuredClone(request), signal)
      return
    }
    const opening = scope({ timeoutMs: this.requestTimeoutMs, parents: [signal, this.closing.signal] })
    let stream: Stream
    try {
      stream = await this.host.dialProtocol(peerIdFromString(peer), LOGS_PROTOCOL, { signal: opening.signal })
    } catch (err) {
      if (signal.aborted) return
      const reason = opening.timedOut()
        ? `no connection within ${this.requestTimeoutMs} ms`
        : (err as Error).message
      throw new Error(`cannot open a log stream to compute node ${nodeId}: ${reason}`, { cause: err })
    } finally {
      opening.dispose()
    }
    this.active.add(stream)
    const reading = scope({ parents: [signal, this.closing.signal] })
    const stop = reading.signal
    // Resetting the stream is what tells the compute side to stop reading the log.
    const onAbort = () => stream.abort(new Error('log stream cancelled'))
    stop.addEventListener('abort', onAbort, { once: true })
    let done = false
    try {
      const lp = jsonFrames(stream, this.maxFrameBytes)
      await writeJson(lp, request, { signal: stop })
      await stream.close({ signal: stop })
      // Without follow the compute node answers promptly; a followed log may stay quiet.
      const timeoutMs = request.follow ? undefined : this.frameTimeoutMs
      for (;;) {
        const frame = await readJson(lp, { timeoutMs, signal: stop })
        const entry = LogEntryFrameSchema.safeParse(frame)
        if (entry.success) {
          yield entry.data
          continue
        }
        const failure = LogErrorFrameSchema.safeParse(frame)
        if (failure.success) throw new Rejected(failure.data.error)
        if (LogEndFrameSchema.safeParse(frame).success) {
          done = true
          return
        }
        throw new FrameError(`unexpected frame on the log stream: ${stringifyJson(frame).slice(0, 200)}`)
      }
    } catch (err) {
      if (stop.aborted) return
      if (err instanceof Rejected) throw new Error(err.message)
      throw new Error(`log stream from compute node ${nodeId} failed: ${(err as Error).message}`, {
        cause: err,
      })
    } finally {
      stop.removeEventListener('abort', onAbort)
      reading.dispose()
      this.active.delete(stream)
      if (!done) stream.abort(new Error('log stream closed by the reader'))
    }
  }

  /** A message from a compute node (direct stream, gossip or our own compute half). */
  private async acceptFromCompute(message: ComputeMessage, fromPeer: string): Promise<void> {
    if (message.type === 'NodeInfoUpdate') {
      const infoId = message.info.NodeID
      if (infoId !== undefined && infoId !== message.nodeId)
        throw new Rejected(`info.NodeID ${String(infoId)} does not match nodeId ${message.nodeId}`)
      if (!this.bindings.claim(message.nodeId, fromPeer, 'direct'))
        throw new Rejected(`node ID ${message.nodeId} is bound to another peer`)
    } else if (!this.bindings.owns(message.nodeId, fromPeer)) {
      throw new Rejected(`node ${message.nodeId} has not announced itself from this peer`)
    }
    const handler = this.orchestratorHandler
    if (!handler) throw new Rejected('the orchestrator is not ready')
    await handler(message)
  }

  // ------------------------------------------------------------------ compute side

  private async sendToOrchestrator(message: ComputeMessage): Promise<void> {
    if (message.type === 'NodeInfoUpdate') return this.announce(message)
    const origin = this.executionOrigin.get(message.executionId)
    if (!origin)
      throw new Error(
        `no orchestrator is known for execution ${message.executionId}: it did not arrive through this node's transport`,
      )
    const final =
      message.type === 'RunResult' ||
      message.type === 'ComputeError' ||
      (message.type === 'BidResult' && !message.accepted)
    if (origin === this.self) await this.localToOrchestrator(message)
    else
      try {
        await this.batched(origin, ORCHESTRATOR_PROTOCOL, message)
      } catch (err) {
        throw new Error(`${message.type} to orchestrator ${origin}: ${(err as Error).message}`, {
          cause: err,
        })
      }
    if (final) this.executionOrigin.delete(message.executionId)
  }

  /**
   * Node info goes everywhere an orchestrator may be listening: gossip for the whole
   * network, a direct stream to each connected orchestrator (so one that just started need
   * not wait for the mesh) and our own orchestrator half. Succeeds if any of them took it.
   */
  private async announce(update: NodeInfoUpdate): Promise<void> {
    this.lastNodeInfo = structuredClone(update)
    const attempts: Array<Promise<unknown>> = []
    if (this.gossip)
      attempts.push(
        this.gossip.publishNodeInfo(update).then((n) => {
          if (n === 0) throw new Error('no gossip peers')
        }),
      )
    if (this.roles.orchestrator) attempts.push(this.localToOrchestrator(update))
    for (const peer of this.connectedOrchestrators()) attempts.push(this.announceTo(peer, update))
    if (!attempts.length) throw new Error('no orchestrator is connected')
    const results = await Promise.allSettled(attempts)
    if (results.some((r) => r.status === 'fulfilled')) return
    const reasons = results.map((r) => ((r as PromiseRejectedResult).reason as Error).message)
    throw new Error(`node info reached no orchestrator: ${reasons.join('; ')}`)
  }

  private async announceTo(peer: PeerId, update: NodeInfoUpdate): Promise<void> {
    const key = peer.toString()
    this.announced.add(key)
    try {
      await this.request(peer, ORCHESTRATOR_PROTOCOL, update)
    } catch (err) {
      this.announced.delete(key)
      throw err
    }
  }

  /** A message from an orchestrator (direct stream, or our own orchestrator half). */
  private async acceptFromOrchestrator(
    message: OrchestratorMessage,
    fromPeer: string,
    local = false,
  ): Promise<void> {
    const handler = this.computeHandler
    if (!handler || !this.roles.compute) throw new Rejected('this node does not run a compute node')
    let executionId: string
    if (message.type === 'AskForBid') {
      const id = message.execution.ID
      if (typeof id !== 'string' || !id) throw new Rejected('execution.ID: expected a non-empty string')
      executionId = id
    } else executionId = message.executionId
    const origin = this.executionOrigin.get(executionId)
    if (origin !== undefined && origin !== fromPeer)
      throw new Rejected(`execution ${executionId} belongs to another orchestrator`)
    if (origin === undefined) this.trackExecution(executionId, fromPeer)
    if (!local && !this.orchestratorPeers.has(fromPeer)) {
      this.orchestratorPeers.set(fromPeer, peerIdFromString(fromPeer))
      this.announced.add(fromPeer) // it found us, so it knows us
    }
    if (local) await null // as over the network: never re-enter the sender
    await handler(message)
    if (message.type === 'BidRejected') this.executionOrigin.delete(executionId)
  }

  private trackExecution(executionId: string, peer: string): void {
    if (this.executionOrigin.size >= MAX_TRACKED_EXECUTIONS) {
      const oldest = this.executionOrigin.keys().next().value
      if (oldest !== undefined) this.executionOrigin.delete(oldest)
    }
    this.executionOrigin.set(executionId, peer)
  }

  private async localToOrchestrator(message: ComputeMessage): Promise<void> {
    await null
    await this.acceptFromCompute(structuredClone(message), this.self)
  }

  /** Dials one configured orchestrator and redials whenever the connection drops. */
  private async keepConnected(addr: string): Promise<void> {
    const signal = this.closing.signal
    let delay = this.reconnectInitialMs
    let failures = 0
    while (!signal.aborted) {
      let peer: PeerId
      try {
        peer = (await dialPeer(this.host, addr, this.dialTimeoutMs, { signal })).remotePeer
      } catch (err) {
        if (signal.aborted) return
        failures++
        // Loud on the first failure, then quiet: an orchestrator that is down stays down a while.
        const level = failures === 1 || failures % 20 === 0 ? 'warn' : 'debug'
        this.log[level](
          { orchestrator: addr, attempt: failures, retryInMs: delay, err: (err as Error).message },
          'cannot reach orchestrator',
        )
        await sleep(delay, signal)
        delay = Math.min(delay * 2, this.reconnectMaxMs)
        continue
      }
      if (peer.toString() === this.self) {
        this.log.warn(
          { orchestrator: addr },
          'orchestrator address points at this node; not dialling it again',
        )
        return
      }
      this.log.info(
        { orchestrator: addr, peer: peer.toString(), afterFailures: failures },
        'connected to orchestrator',
      )
      failures = 0
      this.addOrchestrator(peer)
      const since = Date.now()
      await this.waitForDisconnect(peer, signal)
      if (signal.aborted) return
      this.log.warn({ orchestrator: addr, peer: peer.toString() }, 'lost connection to orchestrator')
      // A link that keeps dropping right after it opens must not turn into a dial storm:
      // only one that stayed up a while earns a quick redial.
      const stable = Date.now() - since > this.reconnectMaxMs
      delay = stable ? this.reconnectInitialMs : Math.min(delay * 2, this.reconnectMaxMs)
      await sleep(delay, signal)
    }
  }

  private addOrchestrator(peer: PeerId): void {
    const key = peer.toString()
    if (key === this.self) return
    this.orchestratorPeers.set(key, peer)
    const info = this.lastNodeInfo
    if (!info || this.announced.has(key) || this.state !== 'started') return
    this.announceTo(peer, info).catch((err: Error) =>
      this.log.debug({ peer: key, err: err.message }, 'node info not delivered to orchestrator'),
    )
  }

  private waitForDisconnect(peer: PeerId, signal: AbortSignal): Promise<void> {
    const key = peer.toString()
    return new Promise<void>((resolve) => {
      if (signal.aborted || this.host.getConnections(peer).length === 0) return resolve()
      let waiters = this.disconnectWaiters.get(key)
      if (!waiters) this.disconnectWaiters.set(key, (waiters = new Set()))
      waiters.add(resolve)
    })
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const key = evt.detail.toString()
    this.announced.delete(key)
    const waiters = this.disconnectWaiters.get(key)
    this.disconnectWaiters.delete(key)
    for (const w of waiters ?? []) w()
  }

  // Any peer that serves the orchestrator protocol is an orchestrator, wherever it came from.
  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const { peerId, protocols } = evt.detail
    if (protocols.includes(ORCHESTRATOR_PROTOCOL)) this.addOrchestrator(peerId)
  }

  // ------------------------------------------------------------------ streams

  private async serve(
    protocol: string,
    fn: (stream: Stream, connection: Connection) => Promise<void>,
    maxInboundStreams: number,
  ): Promise<void> {
    const handler: StreamHandler = async (stream, connection) => {
      if (this.state !== 'started') return stream.abort(new Error('transport stopped'))
      this.active.add(stream)
      try {
        await fn(stream, connection)
      } catch (err) {
        if (this.state === 'started')
          this.log.warn(
            { peer: connection.remotePeer.toString(), protocol, reason: (err as Error).message },
            'inbound stream failed',
          )
        stream.abort(err as Error)
      } finally {
        this.active.delete(stream)
      }
    }
    await this.host.handle(protocol, handler, { maxInboundStreams, force: true })
    this.handled.push(protocol)
  }

  /** One request frame in, one ack out (compute and orchestrator protocols). */
  private async serveRequest(stream: Stream, connection: Connection, protocol: string): Promise<void> {
    const peer = connection.remotePeer.toString()
    const lp = jsonFrames(stream, this.maxFrameBytes)
    const accept = async (json: unknown) => {
      if (protocol === COMPUTE_PROTOCOL)
        await this.acceptFromOrchestrator(parse(OrchestratorMessageSchema, json), peer)
      else await this.acceptFromCompute(parse(ComputeMessageSchema, json), peer)
    }
    let ack: Ack
    try {
      const json = await readJson(lp, { timeoutMs: this.frameTimeoutMs, signal: this.closing.signal })
      const batch = BatchFrameSchema.safeParse(json)
      if (batch.success) {
        // Each message of a batch stands alone: one bad message fails only itself.
        const results: ItemAck[] = []
        for (const item of batch.data.batch) {
          try {
            await accept(item)
            results.push({ ok: true })
          } catch (err) {
            if (this.closing.signal.aborted) throw err
            const reason = (err as Error).message
            this.log.warn({ peer, protocol, reason }, 'rejected inbound message')
            results.push({ ok: false, error: reason })
          }
        }
        ack = { ok: true, results }
      } else {
        await accept(json)
        ack = { ok: true }
      }
    } catch (err) {
      if (this.closing.signal.aborted) throw err
      const reason = (err as Error).message
      this.log.warn({ peer, protocol, reason }, 'rejected inbound message')
      ack = { ok: false, error: reason }
    }
    await writeJson(lp, ack, { signal: AbortSignal.timeout(this.frameTimeoutMs) })
    await this.finish(stream)
  }

  /** A LogRequest in, LogEntry frames out, then `{end:true}` or `{error}`. */
  private async serveLogs(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const lp = jsonFrames(stream, this.maxFrameBytes)
    // The reader learns the orchestrator went away when the stream closes or resets.
    const gone = new AbortController()
    stream.addEventListener('close', () => gone.abort(), { once: true })
    const serving = scope({ parents: [gone.signal, this.closing.signal] })
    const signal = serving.signal
    let request: LogRequest
    try {
      request = parse(LogRequestSchema, await readJson(lp, { timeoutMs: this.frameTimeoutMs, signal }))
      if (!this.logHandler) throw new Rejected('this node serves no logs')
    } catch (err) {
      if (signal.aborted) throw err
      const reason = (err as Error).message
      this.log.warn({ peer, protocol: LOGS_PROTOCOL, reason }, 'rejected log request')
      serving.dispose()
      await writeJson(lp, { error: reason }, { signal: AbortSignal.timeout(this.frameTimeoutMs) })
      return this.finish(stream)
    }
    try {
      for await (const entry of this.logHandler(request, signal)) {
        if (signal.aborted) break
        await writeJson(lp, { Type: entry.Type, Line: entry.Line }, { signal })
      }
      if (signal.aborted) return
      await writeJson(lp, { end: true }, { signal })
    } catch (err) {
      if (signal.aborted) return
      const reason = (err as Error).message
      this.log.warn(
        { peer, protocol: LOGS_PROTOCOL, execution: request.executionId, reason },
        'log stream failed',
      )
      await writeJson(lp, { error: reason }, { signal: AbortSignal.timeout(this.frameTimeoutMs) })
    } finally {
      gone.abort()
      serving.dispose()
    }
    await this.finish(stream)
  }

  /**
   * Half-closes after the last frame. A well-behaved peer has already closed its side; one
   * that keeps sending (e.g. the rest of an oversized frame) is cut off after a grace period.
   */
  private async finish(stream: Stream): Promise<void> {
    await stream.close({ signal: AbortSignal.timeout(this.frameTimeoutMs) })
    if (stream.status !== 'open') return
    await stream.closeRead().catch(() => {})
    const timer = setTimeout(() => stream.abort(new Error('peer kept the stream open')), 2_000)
    timer.unref()
    stream.addEventListener('close', () => clearTimeout(timer), { once: true })
  }

  /**
   * Sends a message to a peer, together with every other message for the same peer and
   * protocol queued in this event-loop turn: under load a stream per message costs more
   * than the work it carries. Each caller still learns its own message's fate.
   */
  private batched(peer: string, protocol: string, message: unknown): Promise<void> {
    const key = `${protocol} ${peer}`
    let pending = this.pendingBatches.get(key)
    if (!pending || pending.items.length >= MAX_BATCH) {
      const fresh: PendingBatch = { items: [] }
      this.pendingBatches.set(key, fresh)
      setImmediate(() => {
        if (this.pendingBatches.get(key) === fresh) this.pendingBatches.delete(key)
        void this.flushBatch(peer, protocol, fresh)
      })
      pending = fresh
    }
    const batch = pending
    return new Promise((resolve, reject) => batch.items.push({ message, resolve, reject }))
  }

  private async flushBatch(peer: string, protocol: string, batch: PendingBatch): Promise<void> {
    const items = batch.items
    try {
      if (items.length === 1) {
        await this.request(peerIdFromString(peer), protocol, items[0].message)
        return items[0].resolve()
      }
      const ack = await this.request(peerIdFromString(peer), protocol, { batch: items.map((i) => i.message) })
      const results = ack.ok ? ack.results : undefined
      items.forEach((item, i) => {
        const r = results?.[i]
        if (!r) item.reject(new Error('peer sent no result for this message'))
        else if (r.ok) item.resolve()
        else item.reject(new Rejected(`peer refused it: ${r.error}`))
      })
    } catch (err) {
      for (const item of items) item.reject(err as Error)
    }
  }

  /**
   * Sends one message on a fresh stream and waits for its ack. Opening the stream is
   * retried with backoff; once the message is sent it is not, since the peer may have acted
   * on it.
   */
  private async request(peer: PeerId, protocol: string, message: unknown): Promise<Ack> {
    const bytes = encodeJson(message, this.maxFrameBytes)
    let lastErr: Error | undefined
    for (let attempt = 1; attempt <= this.requestAttempts; attempt++) {
      if (this.state === 'stopped') throw new Error('transport stopped')
      const sc = scope({ timeoutMs: this.requestTimeoutMs, parents: [this.closing.signal] })
      const signal = sc.signal
      let stream: Stream
      try {
        stream = await this.host.dialProtocol(peer, protocol, { signal, maxOutboundStreams: 256 })
      } catch (err) {
        sc.dispose()
        lastErr = err as Error
        if (lastErr.name === 'UnsupportedProtocolError') {
          lastErr = new Error(`peer ${peer} does not serve ${protocol}`)
          break
        }
        if (this.closing.signal.aborted) break
        if (sc.timedOut()) lastErr = new Error(`no connection within ${this.requestTimeoutMs} ms`)
        this.log.debug(
          { peer: peer.toString(), protocol, attempt, err: lastErr.message },
          'cannot open stream',
        )
        if (attempt < this.requestAttempts) await sleep(250 * 2 ** (attempt - 1), this.closing.signal)
        continue
      }
      this.active.add(stream)
      try {
        const lp = jsonFrames(stream, this.maxFrameBytes)
        await lp.write(bytes, { signal })
        await stream.close({ signal })
        const reply = AckSchema.safeParse(await readJson(lp, { signal }))
        if (!reply.success) throw new FrameError(`invalid ack: ${describeZodError(reply.error)}`)
        if (!reply.data.ok) throw new Rejected(`peer refused it: ${reply.data.error}`)
        return reply.data
      } catch (err) {
        stream.abort(err as Error)
        if (err instanceof Rejected) throw err
        if (sc.timedOut()) throw new Error(`no answer from peer ${peer} within ${this.requestTimeoutMs} ms`)
        throw new Error(`${protocol} request to peer ${peer} failed: ${(err as Error).message}`, {
          cause: err,
        })
      } finally {
        sc.dispose()
        this.active.delete(stream)
      }
    }
    throw new Error(`cannot open ${protocol} to peer ${peer}: ${lastErr?.message ?? 'transport stopped'}`, {
      cause: lastErr,
    })
  }
}

interface PendingBatch {
  items: Array<{ message: unknown; resolve: () => void; reject: (err: Error) => void }>
}

function parse<T>(schema: z.ZodType<T>, json: unknown): T {
  const r = schema.safeParse(json)
  if (!r.success) throw new Rejected(`invalid message: ${describeZodError(r.error)}`)
  return r.data
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    timer.unref()
    signal.addEventListener('abort', done, { once: true })
  })
}
