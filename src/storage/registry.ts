// The input source providers this node offers, by lower-case type name (what NodeInfo
// advertises as StorageSources and what jobs' InputSources[].Source.Type are matched against).
import { InlineStorage } from './inline/index.js'
import { LocalStorage } from './local/index.js'
import { UrlStorage, type UrlStorageOptions } from './url/index.js'
import { S3Storage } from './s3/index.js'
import type { StorageProvider } from './types.js'

export interface StorageRegistryOptions {
  /** Compute.AllowListedLocalPaths. */
  allowListedLocalPaths: readonly string[]
  /** InputSources.Disabled (any case). */
  disabled: readonly string[]
  /** Limits for urlDownload inputs (InputSources.ReadTimeout, MaxRetryCount, disk allocation). */
  url?: UrlStorageOptions
}

/** Names that refer to the same provider: disabling one disables all. */
const ALIASES: readonly (readonly string[])[] = [['local', 'localdirectory']]

export class StorageRegistry {
  private readonly byType = new Map<string, StorageProvider>()
  private readonly disabled: Set<string>

  constructor(opts: StorageRegistryOptions) {
    this.disabled = expandAliases(opts.disabled)
    this.register(new InlineStorage())
    this.register(new LocalStorage(opts.allowListedLocalPaths))
    this.register(new UrlStorage(opts.url))
    this.register(new S3Storage({ maxBytes: opts.url?.maxBytes }))
  }

  /** Adds a provider under all its type names, unless the configuration disables it. */
  register(provider: StorageProvider): void {
    if (provider.types.some((t) => this.disabled.has(t.toLowerCase()))) return
    for (const t of provider.types) this.byType.set(t.toLowerCase(), provider)
  }

  get(type: string): StorageProvider | undefined {
    return this.byType.get(type.toLowerCase())
  }

  /** Lower-case type names, sorted, for NodeInfo.ComputeNodeInfo.StorageSources. */
  types(): string[] {
    return [...this.byType.keys()].sort()
  }
}

function expandAliases(names: readonly string[]): Set<string> {
  const out = new Set(names.map((n) => n.trim().toLowerCase()).filter((n) => n !== ''))
  for (const group of ALIASES) if (group.some((n) => out.has(n))) for (const n of group) out.add(n)
  return out
}
