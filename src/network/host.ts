// The node's libp2p host: TCP + Noise + Yamux, identify, ping, a private Kademlia DHT and
// GossipSub, optionally inside a private network derived from the network token.
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify, type Identify } from '@libp2p/identify'
import { ping, type Ping } from '@libp2p/ping'
import { gossipsub, StrictSign, type GossipSub } from '@libp2p/gossipsub'
import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { isIPv4, isIPv6 } from 'node:net'
import type { Connection, Libp2p, PrivateKey } from '@libp2p/interface'
import type { Logger } from '../util/logger.js'
import { deriveNetworkKey, networkKeyFingerprint, noisePrologue } from './network-key.js'
import { scope } from './scope.js'

export const KAD_PROTOCOL = '/bacalhau-ts/kad/1.0.0'
/** Per-stream read buffer limit (yamux's default is 4 MiB). */
export const STREAM_READ_BUFFER_BYTES = 32 * 1024 * 1024
/** Every dial is bounded: an unresponsive or misconfigured peer must not stall a caller. */
export const DEFAULT_DIAL_TIMEOUT_MS = 4_000

export interface HostServices extends Record<string, unknown> {
  identify: Identify
  ping: Ping
  pubsub: GossipSub
  dht: KadDHT
}
export type Host = Libp2p<HostServices>

export interface HostOptions {
  privateKey: PrivateKey
  /** Multiaddrs to listen on, e.g. `/ip4/0.0.0.0/tcp/4222`. */
  listen: string[]
  /** Addresses to advertise instead of the listen addresses (NAT, containers). */
  announce?: string[]
  /** Shared network token; empty or absent means no private network. */
  token?: string
  logger: Logger
}

// Remembers which hosts run in a closed network, so a failed dial can say why it probably failed.
const privateNetworkHosts = new WeakSet<object>()

/**
 * The libp2p options for a node: used by createHost, and by an embedded Helia that must
 * build the host itself from options.
 */
export function libp2pOptions(opts: Omit<HostOptions, 'logger'>): Libp2pOptions<HostServices> {
  const networkKey = deriveNetworkKey(opts.token)
  return {
    privateKey: opts.privateKey,
    addresses: { listen: opts.listen, ...(opts.announce?.length ? { announce: opts.announce } : {}) },
    transports: [tcp()],
    // A peer configured with another token fails the Noise handshake (network-key.ts).
    connectionEncrypters: [noise(networkKey ? { prologueBytes: noisePrologue(networkKey) } : {})],
    // Yamux grants stream window as data arrives, not as it is read, so a bulk stream (a
    // bitswap transfer) can run ahead of a busy reader by several MiB before the reader's
    // own backpressure (pause) takes hold; past maxReadBufferLength the stream is reset.
    streamMuxers: [yamux({ streamOptions: { maxReadBufferLength: STREAM_READ_BUFFER_BYTES } })],
    // Nodes find each other through configured addresses only: no mDNS, no public bootstrap.
    peerDiscovery: [],
    // Clusters run on LANs and loopback: private and loopback addresses must stay dialable.
    connectionGater: { denyDialMultiaddr: () => false },
    // An orchestrator takes every compute node of a cluster at once, often from one host
    // (devstack): libp2p's defaults (5 new connections per second per host, 10 pending
    // upgrades) reset most of them and push the rest into reconnect backoff.
    connectionManager: {
      maxConnections: 2000,
      maxIncomingPendingConnections: 256,
      inboundConnectionThreshold: 1000,
    },
    services: {
      identify: identify(),
      ping: ping(),
      // Small networks (pitfall 9): with the default degree a message published before the
      // mesh forms never reaches a peer two hops away. Low Dlo/Dout graft every peer there
      // is, flood publishing reaches every direct subscriber at once, and StrictSign makes
      // the `from` of every delivered message a verified peer ID.
      pubsub: gossipsub({
        D: 4,
        Dlo: 1,
        Dhi: 8,
        Dout: 0,
        heartbeatInterval: 500,
        floodPublish: true,
        allowPublishToZeroTopicPeers: true,
        globalSignaturePolicy: StrictSign,
      }),
      // Pitfall 11: the defaults drop private addresses, go client-only off the public
      // internet and join the public IPFS DHT.
      // The DHT's start-up self-queries (every second by default) cost every node CPU on
      // every new peer; a cluster joining 30 nodes at once spent seconds on them. Content
      // routing does not need them this early.
      dht: kadDHT({
        protocol: KAD_PROTOCOL,
        clientMode: false,
        peerInfoMapper: passthroughMapper,
        initialQuerySelfInterval: 30_000,
        querySelfInterval: 300_000,
      }),
    },
  }
}

/** Creates and starts the node's libp2p host. The caller owns it and must stop() it. */
export async function createHost(opts: HostOptions): Promise<Host> {
  const options = libp2pOptions(opts)
  const host = await createLibp2p(options)
  hostStarted(host, opts.token, opts.logger, 'libp2p host started')
  return host
}

/**
 * Records a started host (here, or built by Helia from libp2pOptions): remembers whether it
 * runs in a closed network, so failed dials can name the likely cause, and logs its
 * identity, addresses and network-key fingerprint.
 */
export function hostStarted(host: Libp2p, token: string | undefined, logger: Logger, message: string): void {
  const networkKey = deriveNetworkKey(token)
  if (networkKey) privateNetworkHosts.add(host)
  logger.info(
    {
      peerId: host.peerId.toString(),
      addrs: host.getMultiaddrs().map((a) => a.toString()),
      privateNetwork: networkKey ? networkKeyFingerprint(networkKey) : false,
    },
    message,
  )
}

/**
 * Turns a peer address into a multiaddr: a multiaddr string (with or without /p2p/),
 * `host:port`, `ip:port`, `[ipv6]:port`, or any of those behind a URL scheme
 * (`tcp://…`, `nats://…` from Bacalhau-style configs).
 */
export function toMultiaddr(addr: string): Multiaddr {
  const a = addr.trim()
  if (a.startsWith('/')) return multiaddr(a)
  const bare = a.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/+$/, '')
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(bare) ?? /^([^:/]+):(\d+)$/.exec(bare)
  if (!m) throw new Error(`invalid peer address "${addr}": expected a multiaddr or host:port`)
  const [, h, p] = m
  const port = Number(p)
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`invalid peer address "${addr}": port ${p} is out of range`)
  const proto = isIPv4(h!) ? 'ip4' : isIPv6(h!) ? 'ip6' : 'dns4'
  return multiaddr(`/${proto}/${h}/tcp/${port}`)
}

export interface DialPeerOptions {
  /** Whether the host runs in a closed network; defaults to what createHost recorded. */
  privateNetwork?: boolean
  signal?: AbortSignal
}

/**
 * Dials a peer, always bounded by a timeout. Errors name the address and, in a closed network,
 * the likely cause: a peer with another network token fails the Noise handshake.
 */
export async function dialPeer(
  host: Libp2p,
  addr: string,
  timeoutMs: number = DEFAULT_DIAL_TIMEOUT_MS,
  opts: DialPeerOptions = {},
): Promise<Connection> {
  const ma = toMultiaddr(addr)
  const sc = scope({ timeoutMs, parents: [opts.signal] })
  try {
    return await host.dial(ma, { signal: sc.signal })
  } catch (err) {
    if (opts.signal?.aborted) throw err
    const privateNetwork = opts.privateNetwork ?? privateNetworkHosts.has(host)
    const reason = sc.timedOut() ? `no answer within ${timeoutMs} ms` : (err as Error).message
    const hint = privateNetwork
      ? '; the remote node may be using a different network token, or be unreachable'
      : ''
    throw new Error(`could not connect to peer at ${addr}: ${reason}${hint}`, { cause: err })
  } finally {
    sc.dispose()
  }
}
