// The publishers this node offers, by lower-case name (NodeInfo.ComputeNodeInfo.Publishers and
// Task.Publisher.Type matching). Some own a server, which the node starts and stops with itself.
import { LocalPublisher, type LocalPublisherOptions } from './local/index.js'
import { NoopPublisher } from './noop/index.js'
import { S3Publisher } from './s3/index.js'
import path from 'node:path'
import type { Publisher } from './types.js'

export interface PublisherRegistryOptions {
  /** Publishers.Types.Local plus the node's storage directory for it. */
  local: LocalPublisherOptions
  /** Publishers.Disabled (any case). */
  disabled: readonly string[]
}

interface Lifecycle {
  start(): Promise<void>
  stop(): Promise<void>
}

function hasLifecycle(p: Publisher): p is Publisher & Lifecycle {
  const c = p as Partial<Lifecycle>
  return typeof c.start === 'function' && typeof c.stop === 'function'
}

export class PublisherRegistry {
  private readonly byName = new Map<string, Publisher>()
  private readonly disabled: Set<string>

  constructor(opts: PublisherRegistryOptions) {
    this.disabled = new Set(opts.disabled.map((n) => n.trim().toLowerCase()))
    this.register(new NoopPublisher())
    this.register(new LocalPublisher(opts.local))
    this.register(
      new S3Publisher({ stagingDir: path.join(path.dirname(opts.local.storageDir), 's3-publisher') }),
    )
  }

  /** Adds a publisher unless the configuration disables it. */
  register(publisher: Publisher): void {
    const name = publisher.name.toLowerCase()
    if (this.disabled.has(name)) return
    this.byName.set(name, publisher)
  }

  get(name: string): Publisher | undefined {
    return this.byName.get(name.toLowerCase())
  }

  /** Lower-case names, sorted. */
  names(): string[] {
    return [...this.byName.keys()].sort()
  }

  /** Starts every publisher that runs a server; if one fails, those already started are stopped. */
  async startAll(): Promise<void> {
    const started: Lifecycle[] = []
    try {
      for (const p of this.byName.values()) {
        if (!hasLifecycle(p)) continue
        await p.start()
        started.push(p)
      }
    } catch (err) {
      await Promise.allSettled(started.map((p) => p.stop()))
      throw err
    }
  }

  async stopAll(): Promise<void> {
    const results = await Promise.allSettled(
      [...this.byName.values()].filter(hasLifecycle).map((p) => p.stop()),
    )
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) throw failed.reason
  }
}
