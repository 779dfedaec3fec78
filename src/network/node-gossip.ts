// Node announcements over GossipSub: every compute node publishes its NodeInfoUpdate on one
// topic and every orchestrator builds its node table from what arrives. Gossip messages are
// signed (StrictSign), so `from` is a verified peer ID; a NodeID is bound to the first peer
// that announced it and later claims from other peers are refused.
import { parseJson, stringifyJson } from '../models/json.js'
import type { GossipSub, Message, TopicValidatorFn } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { z } from 'zod'
import type { Logger } from '../util/logger.js'
import { NodeInfoUpdateSchema } from '../protocols/messages.js'
import { describeZodError } from './frames.js'

export const NODES_TOPIC = 'bacalhau-ts/nodes/1.0.0'
/** NodeInfo is a few KiB; anything near this is garbage or abuse. */
export const MAX_NODE_INFO_BYTES = 256 * 1024

export type NodeInfoUpdate = z.infer<typeof NodeInfoUpdateSchema>

/**
 * NodeID → peer ID, first come first served. Shared by gossip and the direct streams, so a
 * peer cannot take over another node's ID through either path.
 */
export class NodeBindings {
  private readonly byNode = new Map<string, string>()
  private readonly warned = new Set<string>()

  constructor(private readonly log: Logger) {}

  /** Binds nodeId to peer if unbound; false when another peer already holds it. */
  claim(nodeId: string, peer: PeerId | string, source: string): boolean {
    const p = peer.toString()
    const owner = this.byNode.get(nodeId)
    if (owner === undefined) {
      this.byNode.set(nodeId, p)
      return true
    }
    if (owner === p) return true
    // One line per impostor, not one per heartbeat.
    const key = `${nodeId}\n${p}`
    if (!this.warned.has(key)) {
      if (this.warned.size > 10_000) this.warned.clear()
      this.warned.add(key)
      this.log.warn(
        { nodeId, peer: p, boundTo: owner, source },
        'rejected node announcement: node ID is bound to another peer',
      )
    }
    return false
  }

  peerOf(nodeId: string): string | undefined {
    return this.byNode.get(nodeId)
  }

  /** Whether peer owns nodeId (false when unbound). */
  owns(nodeId: string, peer: PeerId | string): boolean {
    return this.byNode.get(nodeId) === peer.toString()
  }

  /** Forgets a node (e.g. deleted by an operator), letting any peer claim the ID again. */
  forget(nodeId: string): void {
    this.byNode.delete(nodeId)
  }

  nodes(): Array<[nodeId: string, peerId: string]> {
    return [...this.byNode.entries()]
  }
}

/**
 * Parses and checks one announcement; returns the update or a reason to refuse it. The
 * NodeInfo's own NodeID must match, since the orchestrator keys its table on that one.
 */
export function parseNodeInfoUpdate(
  data: Uint8Array,
  maxBytes = MAX_NODE_INFO_BYTES,
): { ok: true; update: NodeInfoUpdate } | { ok: false; reason: string } {
  if (data.byteLength > maxBytes) return { ok: false, reason: `${data.byteLength} bytes exceeds ${maxBytes}` }
  let json: unknown
  try {
    json = parseJson(new TextDecoder('utf-8', { fatal: true }).decode(data))
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` }
  }
  const r = NodeInfoUpdateSchema.safeParse(json)
  if (!r.success) return { ok: false, reason: describeZodError(r.error) }
  const infoId = r.data.info.NodeID
  if (infoId !== undefined && infoId !== r.data.nodeId)
    return { ok: false, reason: `info.NodeID ${String(infoId)} does not match nodeId ${r.data.nodeId}` }
  return { ok: true, update: r.data }
}

export interface NodeGossipOptions {
  pubsub: GossipSub
  logger: Logger
  bindings?: NodeBindings
  maxBytes?: number
}

type NodeInfoHandler = (update: NodeInfoUpdate, from: PeerId) => void | Promise<void>

export class NodeGossip {
  readonly bindings: NodeBindings
  private readonly pubsub: GossipSub
  private readonly log: Logger
  private readonly maxBytes: number
  private readonly handlers: NodeInfoHandler[] = []
  private started = false

  constructor(opts: NodeGossipOptions) {
    this.pubsub = opts.pubsub
    this.log = opts.logger.child({ component: 'node-gossip' })
    this.bindings = opts.bindings ?? new NodeBindings(this.log)
    this.maxBytes = opts.maxBytes ?? MAX_NODE_INFO_BYTES
  }

  /**
   * Subscribes to the topic. Every node subscribes, not just orchestrators, so that nodes
   * between a publisher and an orchestrator relay announcements.
   */
  start(): void {
    if (this.started) return
    this.started = true
    // Refused messages are neither delivered nor forwarded, and count against the sender's
    // gossip score, so garbage dies at the first hop.
    this.pubsub.topicValidators.set(NODES_TOPIC, this.validate)
    this.pubsub.addEventListener('message', this.onMessage)
    this.pubsub.subscribe(NODES_TOPIC)
  }

  stop(): void {
    if (!this.started) return
    this.started = false
    this.pubsub.removeEventListener('message', this.onMessage)
    if (this.pubsub.topicValidators.get(NODES_TOPIC) === this.validate)
      this.pubsub.topicValidators.delete(NODES_TOPIC)
    try {
      this.pubsub.unsubscribe(NODES_TOPIC)
    } catch {
      // The host may already be stopping; unsubscribing then is moot.
    }
  }

  onNodeInfo(handler: NodeInfoHandler): void {
    this.handlers.push(handler)
  }

  /** Publishes an announcement; resolves to the number of peers it was sent to. */
  async publishNodeInfo(update: NodeInfoUpdate): Promise<number> {
    const data = new TextEncoder().encode(stringifyJson(update))
    if (data.byteLength > this.maxBytes)
      throw new Error(`node info of ${data.byteLength} bytes exceeds the ${this.maxBytes}-byte gossip limit`)
    const { recipients } = await this.pubsub.publish(NODES_TOPIC, data)
    return recipients.length
  }

  private readonly validate: TopicValidatorFn = (propagationSource, msg) => {
    try {
      if (msg.type !== 'signed') {
        this.log.warn({ peer: propagationSource.toString() }, 'dropped unsigned node announcement')
        return TopicValidatorResult.Reject
      }
      const r = parseNodeInfoUpdate(msg.data, this.maxBytes)
      if (!r.ok) {
        this.log.warn(
          {
            peer: msg.from.toString(),
            via: propagationSource.toString(),
            topic: NODES_TOPIC,
            reason: r.reason,
          },
          'dropped invalid node announcement',
        )
        return TopicValidatorResult.Reject
      }
      // Ignore rather than Reject: the relaying peer may be honest, only the origin is not.
      if (!this.bindings.claim(r.update.nodeId, msg.from, 'gossip')) return TopicValidatorResult.Ignore
      return TopicValidatorResult.Accept
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'node announcement validation failed')
      return TopicValidatorResult.Ignore
    }
  }

  private readonly onMessage = (evt: CustomEvent<Message>): void => {
    const msg = evt.detail
    if (msg.topic !== NODES_TOPIC || msg.type !== 'signed') return
    try {
      const r = parseNodeInfoUpdate(msg.data, this.maxBytes)
      if (!r.ok || !this.bindings.claim(r.update.nodeId, msg.from, 'gossip')) return
      for (const h of this.handlers) {
        Promise.resolve()
          .then(() => h(r.update, msg.from))
          .catch((err) => this.log.warn({ err: (err as Error).message }, 'node info handler failed'))
      }
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'node announcement dropped')
    }
  }
}
