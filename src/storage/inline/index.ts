// The `inline` input source: the data travels inside the job spec as a data: URL
// (bacalhau-api.md §5.3). A gzip media type means a tarball to unpack into a directory.
import fs from 'node:fs'
import path from 'node:path'
import type { PreparedInput } from '../../executors/types.js'
import { paramValue } from '../../models/ci.js'
import type { InputSource } from '../../models/job.js'
import { extractArchiveSafely } from '../../publishers/local/archive.js'
import type { StorageProvider } from '../types.js'
import { isGzipMediaType, MAX_INLINE_BYTES, parseDataUrl, type DataUrl } from './dataurl.js'

export { MAX_INLINE_BYTES, parseDataUrl, isGzipMediaType, type DataUrl } from './dataurl.js'

/** A 10 MiB gzip can expand a thousandfold; the unpacked tree is capped well below that. */
export const MAX_INLINE_EXTRACTED_BYTES = 1024 * 1024 * 1024

export interface InlineStorageOptions {
  maxBytes?: number
  maxExtractedBytes?: number
}

export class InlineStorage implements StorageProvider {
  readonly types = ['inline'] as const
  private readonly maxBytes: number
  private readonly maxExtractedBytes: number
  /** hostPath → the private directory prepare() made for it, removed by cleanup(). */
  private readonly owned = new Map<string, string>()

  constructor(opts: InlineStorageOptions = {}) {
    this.maxBytes = opts.maxBytes ?? MAX_INLINE_BYTES
    this.maxExtractedBytes = opts.maxExtractedBytes ?? MAX_INLINE_EXTRACTED_BYTES
  }

  async isInstalled(): Promise<boolean> {
    return true
  }

  validate(input: InputSource): string | undefined {
    try {
      this.decode(input)
      return undefined
    } catch (err) {
      return (err as Error).message
    }
  }

  async prepare(input: InputSource, workDir: string, signal: AbortSignal): Promise<PreparedInput> {
    signal.throwIfAborted()
    const data = this.decode(input)
    await fs.promises.mkdir(workDir, { recursive: true })
    // Each input gets its own directory so several inline inputs never collide.
    const dir = await fs.promises.mkdtemp(path.join(workDir, 'inline-'))
    try {
      let hostPath: string
      if (isGzipMediaType(data.mediaType)) {
        const archive = path.join(dir, 'archive.tar.gz')
        await fs.promises.writeFile(archive, data.data, { signal })
        hostPath = path.join(dir, 'data')
        await extractArchiveSafely(archive, hostPath, {
          maxBytes: this.maxExtractedBytes,
          context: 'inline input',
        })
        await fs.promises.rm(archive, { force: true })
      } else {
        // The file name is cosmetic (the task sees it at Target), but matching it helps debugging.
        const name = safeFileName(path.posix.basename(input.Target)) ?? 'data'
        hostPath = path.join(dir, name)
        await fs.promises.writeFile(hostPath, data.data, { signal })
      }
      signal.throwIfAborted()
      this.owned.set(hostPath, dir)
      return { hostPath, target: input.Target, readOnly: true }
    } catch (err) {
      await fs.promises.rm(dir, { recursive: true, force: true })
      throw err
    }
  }

  async cleanup(prepared: PreparedInput): Promise<void> {
    const dir = this.owned.get(prepared.hostPath)
    if (!dir) return
    this.owned.delete(prepared.hostPath)
    await fs.promises.rm(dir, { recursive: true, force: true })
  }

  private decode(input: InputSource): DataUrl {
    const url = paramValue(input.Source?.Params ?? undefined, 'URL')
    if (url === undefined || url === null || url === '') throw new Error('inline input: URL is required')
    if (typeof url !== 'string') throw new Error('inline input: URL must be a string')
    return parseDataUrl(url, this.maxBytes)
  }
}

function safeFileName(name: string): string | undefined {
  if (name === '' || name === '.' || name === '..' || name === '/' || name.includes('\0')) return undefined
  return name
}
