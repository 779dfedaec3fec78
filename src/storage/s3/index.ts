// The `s3` input source (bacalhau-api.md §5.3, bacalhau-behaviour.md §4.1): one object or a
// key prefix is downloaded into a private directory, which is mounted at Target. The key's
// folder part is stripped, so `s3://b/data/x.csv` appears as `<Target>/x.csv` and
// `s3://b/data/` as `<Target>/<rest of each key>`.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { Readable, Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3'
import type { PreparedInput } from '../../executors/types.js'
import type { InputSource } from '../../models/job.js'
import { logger, type Logger } from '../../util/logger.js'
import type { StorageProvider } from '../types.js'
import {
  createS3Client,
  describeS3Error,
  isNotFound,
  resolveCredentials,
  resolveRegion,
  S3ReasonError,
  s3Url,
  type S3Credentials,
} from './client.js'
import { forEachLimit } from './pool.js'
import {
  hasDotSegment,
  isCompositeChecksum,
  isPrefixKey,
  listingPrefix,
  parseS3Source,
  type S3SourceSpec,
} from './spec.js'

export { parseS3Source, isPrefixKey, type S3SourceSpec } from './spec.js'

export interface S3StorageOptions {
  /** Cap on the total bytes one input may download; unlimited when absent. */
  maxBytes?: number
  logger?: Logger
  /** Objects downloaded in parallel for a prefix. */
  concurrency?: number
  /** Replaces the standard AWS credential chain (embedding, tests). */
  credentials?: S3Credentials
  /** MaxKeys per ListObjectsV2 page; the server's default (1000) when unset. */
  listPageSize?: number
}

interface PlannedObject {
  key: string
  /** Normalised path below the input directory ('' never occurs). */
  rel: string
  isDir: boolean
  size: number
  etag?: string
  versionId?: string
}

interface Plan {
  objects: PlannedObject[]
  total: number
  /** Base64 SHA-256 the single object's bytes must hash to. */
  digest?: string
}

export class S3Storage implements StorageProvider {
  readonly types = ['s3'] as const
  private readonly maxBytes: number
  private readonly concurrency: number
  private readonly credentials?: S3Credentials
  private readonly listPageSize?: number
  private readonly log: Logger
  private readonly owned = new Set<string>()
  private installed?: Promise<boolean>

  constructor(opts: S3StorageOptions = {}) {
    this.maxBytes = opts.maxBytes ?? Infinity
    this.concurrency = Math.max(1, opts.concurrency ?? 4)
    this.credentials = opts.credentials
    this.listPageSize = opts.listPageSize
    this.log = opts.logger ?? logger().child({ component: 's3-storage' })
  }

  /**
   * As in Bacalhau, the source counts as installed only where AWS credentials resolve: the
   * SDK cannot make anonymous requests, so a node without them could only fail such jobs.
   */
  isInstalled(): Promise<boolean> {
    this.installed ??= resolveCredentials(this.credentials).then(
      (c) => c !== undefined,
      () => false,
    )
    return this.installed
  }

  validate(input: InputSource): string | undefined {
    try {
      parseS3Source(input.Source?.Params ?? undefined)
      return undefined
    } catch (err) {
      return (err as Error).message
    }
  }

  async prepare(input: InputSource, workDir: string, signal: AbortSignal): Promise<PreparedInput> {
    signal.throwIfAborted()
    const spec = parseS3Source(input.Source?.Params ?? undefined)
    const where = `s3 input ${s3Url(spec.bucket, spec.key)}`
    await fs.promises.mkdir(workDir, { recursive: true })
    // A private directory per input: several s3 inputs in one task never collide.
    const dir = await fs.promises.mkdtemp(path.join(workDir, 's3-'))
    let client: S3Client | undefined
    try {
      client = await this.client(spec)
      const plan = await this.plan(client, spec, signal, this.maxBytes)
      this.log.debug(
        { input: where, objects: plan.objects.length, bytes: plan.total },
        'downloading s3 input',
      )
      await this.download(client, spec, plan, dir, signal)
      this.owned.add(dir)
      return { hostPath: dir, target: input.Target, readOnly: true }
    } catch (err) {
      await fs.promises.rm(dir, { recursive: true, force: true })
      if (signal.aborted) throw new Error(`${where}: download aborted`, { cause: err })
      throw new Error(`${where}: ${describeS3Error(err)}`, { cause: err })
    } finally {
      client?.destroy()
    }
  }

  async cleanup(prepared: PreparedInput): Promise<void> {
    if (!this.owned.delete(prepared.hostPath)) return
    await fs.promises.rm(prepared.hostPath, { recursive: true, force: true })
  }

  /** Total bytes the input would download (HEAD or listing); undefined when that cannot be learnt. */
  async estimateSize(input: InputSource, signal?: AbortSignal): Promise<number | undefined> {
    let client: S3Client | undefined
    try {
      const spec = parseS3Source(input.Source?.Params ?? undefined)
      client = await this.client(spec)
      const plan = await this.plan(client, spec, signal ?? new AbortController().signal, Infinity)
      return plan.total
    } catch (err) {
      this.log.debug({ err }, 's3 input size unknown')
      return undefined
    } finally {
      client?.destroy()
    }
  }

  private async client(spec: S3SourceSpec): Promise<S3Client> {
    return createS3Client({
      region: await resolveRegion(spec.region),
      endpoint: spec.endpoint,
      credentials: this.credentials,
      logger: this.log,
    })
  }

  private async plan(
    client: S3Client,
    spec: S3SourceSpec,
    signal: AbortSignal,
    maxBytes: number,
  ): Promise<Plan> {
    if (!isPrefixKey(spec.key)) {
      let head
      try {
        head = await client.send(
          new HeadObjectCommand({
            Bucket: spec.bucket,
            Key: spec.key,
            VersionId: spec.versionId,
            ChecksumMode: spec.checksumSHA256 ? 'ENABLED' : undefined,
          }),
          { abortSignal: signal },
        )
      } catch (err) {
        if (isNotFound(err)) throw new S3ReasonError(await this.whatIsMissing(client, spec, signal))
        throw err
      }
      // A folder marker object stands for everything below it, as in Bacalhau.
      if (!head.ContentType?.startsWith('application/x-directory')) {
        const size = head.ContentLength ?? 0
        checkCap(size, maxBytes)
        const digest = checkHeadChecksum(spec.checksumSHA256, head.ChecksumSHA256)
        const rel = spec.key.slice(spec.key.lastIndexOf('/') + 1)
        return {
          objects: [
            {
              key: spec.key,
              rel,
              isDir: false,
              size,
              etag: head.ETag,
              versionId: spec.versionId ?? undefined,
            },
          ],
          total: size,
          digest,
        }
      }
      return this.list(client, spec, `${spec.key}/`, signal, maxBytes)
    }
    return this.list(client, spec, listingPrefix(spec.key), signal, maxBytes)
  }

  private async list(
    client: S3Client,
    spec: S3SourceSpec,
    prefix: string,
    signal: AbortSignal,
    maxBytes: number,
  ): Promise<Plan> {
    // Only the folder part of the prefix is stripped: `data/file*` gives `file1.txt`, not `1.txt`.
    const folder = prefix.slice(0, prefix.lastIndexOf('/') + 1)
    const objects: PlannedObject[] = []
    const kinds = new Map<string, 'dir' | 'file'>()
    let total = 0
    let token: string | undefined
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: spec.bucket,
          Prefix: prefix || undefined,
          ContinuationToken: token,
          MaxKeys: this.listPageSize,
        }),
        { abortSignal: signal },
      )
      for (const o of page.Contents ?? []) {
        const key = o.Key
        if (key === undefined || !key.startsWith(prefix)) continue
        // Bacalhau matches Filter against the key with the whole prefix removed.
        if (spec.filter && !spec.filter.test(key.slice(prefix.length))) continue
        const isDir = key.endsWith('/')
        const rel = safeRelativePath(key, key.slice(folder.length), isDir)
        if (rel === '') continue // the prefix's own folder marker
        claimPath(kinds, rel, isDir, key)
        const size = isDir ? 0 : (o.Size ?? 0)
        total += size
        checkCap(total, maxBytes)
        objects.push({ key, rel, isDir, size })
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
    return { objects, total }
  }

  /** HEAD has no body, so a 404 does not say whether the bucket or the key is missing. */
  private async whatIsMissing(client: S3Client, spec: S3SourceSpec, signal: AbortSignal): Promise<string> {
    try {
      await client.send(new HeadBucketCommand({ Bucket: spec.bucket }), { abortSignal: signal })
    } catch (err) {
      if (isNotFound(err)) return `bucket ${spec.bucket} does not exist (NoSuchBucket)`
    }
    const version = spec.versionId ? ` (version ${spec.versionId})` : ''
    return `object ${spec.key}${version} does not exist in bucket ${spec.bucket} (NoSuchKey)`
  }

  private async download(
    client: S3Client,
    spec: S3SourceSpec,
    plan: Plan,
    dir: string,
    signal: AbortSignal,
  ): Promise<void> {
    const budget = { used: 0, max: this.maxBytes }
    // Folders first, so parallel file downloads never race to create the same parents.
    for (const o of plan.objects) {
      if (o.isDir) await fs.promises.mkdir(path.join(dir, o.rel), { recursive: true, mode: 0o755 })
    }
    const files = plan.objects.filter((o) => !o.isDir)
    await forEachLimit(files, this.concurrency, signal, async (o, sig) => {
      const dest = path.join(dir, o.rel)
      await fs.promises.mkdir(path.dirname(dest), { recursive: true, mode: 0o755 })
      const res = await client.send(
        new GetObjectCommand({
          Bucket: spec.bucket,
          Key: o.key,
          VersionId: o.versionId,
          // The object must still be the one HEAD described (size cap, checksum).
          IfMatch: o.etag,
        }),
        { abortSignal: sig },
      )
      const body = res.Body
      if (!(body instanceof Readable)) throw new S3ReasonError(`unexpected response body for ${o.key}`)
      const hash = plan.digest ? crypto.createHash('sha256') : undefined
      const meter = new Transform({
        transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
          budget.used += chunk.length
          if (budget.used > budget.max) return cb(new S3ReasonError(capMessage(budget.used, budget.max)))
          hash?.update(chunk)
          cb(null, chunk)
        },
      })
      // 'wx': the directory is fresh, so an existing entry would mean two keys mapped to one file.
      await pipeline(body, meter, fs.createWriteStream(dest, { flags: 'wx', mode: 0o644 }), { signal: sig })
      if (hash && plan.digest) {
        const got = hash.digest('base64')
        if (got !== plan.digest)
          throw new S3ReasonError(`checksum mismatch: expected ChecksumSHA256 ${plan.digest}, got ${got}`)
      }
    })
  }
}

function capMessage(total: number, max: number): string {
  return `input size ${total} bytes exceeds the ${max}-byte limit for s3 inputs`
}

function checkCap(total: number, max: number): void {
  if (total > max) throw new S3ReasonError(capMessage(total, max))
}

/**
 * Compares the expected checksum with what HEAD reported and returns the digest still to
 * verify while downloading. Servers that keep no checksum (or a multipart composite one that
 * cannot be compared with a whole-object digest) leave the check to the downloaded bytes.
 */
function checkHeadChecksum(expected: string | undefined, reported: string | undefined): string | undefined {
  if (!expected) return undefined
  const mismatch = () =>
    new S3ReasonError(`checksum mismatch: expected ChecksumSHA256 ${expected}, got ${reported ?? 'none'}`)
  if (isCompositeChecksum(expected)) {
    if (reported !== expected) throw mismatch()
    return undefined
  }
  if (reported && !isCompositeChecksum(reported) && reported !== expected) throw mismatch()
  return expected
}

/**
 * The key's path below the input directory, normalised. Keys are arbitrary strings from the
 * server, and a `..` segment would write outside the directory, so such keys are refused.
 */
function safeRelativePath(key: string, rel: string, isDir: boolean): string {
  // Checked on the whole key: a `.`/`..` anywhere also changes which object a GET reaches.
  if (hasDotSegment(key) || key.includes('\0'))
    throw new S3ReasonError(
      `object key ${JSON.stringify(key)} has "." or ".." path segments (it could escape the input directory); refusing it`,
    )
  const parts = rel.split('/').filter((p) => p !== '')
  const out = parts.join('/')
  if (out === '' && !isDir)
    throw new S3ReasonError(`object key ${JSON.stringify(key)} cannot be written as a file`)
  return out
}

/** Refuses two keys that map to one path, or a file where another key needs a folder. */
function claimPath(kinds: Map<string, 'dir' | 'file'>, rel: string, isDir: boolean, key: string): void {
  const clash = () =>
    new S3ReasonError(`object key ${JSON.stringify(key)} clashes with another key at ${JSON.stringify(rel)}`)
  const parts = rel.split('/')
  for (let i = 1; i < parts.length; i++) {
    const parent = parts.slice(0, i).join('/')
    if (kinds.get(parent) === 'file') throw clash()
    kinds.set(parent, 'dir')
  }
  const prev = kinds.get(rel)
  if (isDir) {
    if (prev === 'file') throw clash()
    kinds.set(rel, 'dir')
  } else {
    if (prev !== undefined) throw clash()
    kinds.set(rel, 'file')
  }
}
