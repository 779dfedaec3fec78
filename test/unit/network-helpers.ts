// Shared by the network-*.test.ts files: real libp2p hosts on loopback in this process.
import '../../src/polyfills.js'
import { Writable } from 'node:stream'
import { pino, type Logger } from 'pino'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createHost, type Host } from '../../src/network/host.js'
import type { NodeInfoUpdate } from '../../src/network/node-gossip.js'

export interface CapturedLogger {
  logger: Logger
  lines: Array<Record<string, unknown>>
}

/** A logger whose records can be inspected (warn lines are part of the contract). */
export function captureLogger(level = 'debug'): CapturedLogger {
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l))
      cb()
    },
  })
  return { logger: pino({ level }, sink), lines }
}

export const silent = pino({ level: 'silent' })

export async function newHost(opts: { token?: string; port?: number; logger?: Logger } = {}): Promise<Host> {
  return createHost({
    privateKey: await generateKeyPair('Ed25519'),
    listen: [`/ip4/127.0.0.1/tcp/${opts.port ?? 0}`],
    token: opts.token,
    logger: opts.logger ?? silent,
  })
}

export function addrOf(host: Host): string {
  return host.getMultiaddrs()[0]!.toString()
}

export function portOf(host: Host): number {
  return Number(host.getMultiaddrs()[0]!.toString().split('/')[4])
}

export function nodeInfo(nodeId: string, bootId = 'boot-1'): NodeInfoUpdate {
  return { type: 'NodeInfoUpdate', nodeId, bootId, info: { NodeID: nodeId, NodeType: 'Compute' } }
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5_000,
): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
