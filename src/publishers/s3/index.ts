// The `s3` publisher (bacalhau-api.md §5.4, §6.1): the results directory goes to a bucket,
// either as one tar.gz object (Encoding gzip, the default) or one object per file under a
// key prefix (Encoding plain). The node's own AWS credential chain signs the uploads.
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3'
import type { SpecConfig } from '../../models/job.js'
import {
  checkBucket,
  checkEndpoint,
  createS3Client,
  describeS3Error,
  optionalString,
  resolveRegion,
  S3ReasonError,
  s3Url,
  type S3Credentials,
} from '../../storage/s3/client.js'
import { forEachLimit } from '../../storage/s3/pool.js'
import { hasDotSegment } from '../../storage/s3/spec.js'
import { logger, type Logger } from '../../util/logger.js'
import { createResultsArchive } from '../local/archive.js'
import type { Publisher, PublishRequest } from '../types.js'

const MiB = 1024 * 1024
/** S3 refuses more parts than this in one multipart upload. */
const MAX_PARTS = 10_000

export interface S3PublisherOptions {
  /** Where gzip archives are built before upload (<DataDir>/compute/results/s3-publisher); os.tmpdir() if unset. */
  stagingDir?: string
  logger?: Logger
  /** Replaces the standard AWS credential chain (embedding, tests). */
  credentials?: S3Credentials
  /** Archives at least this big go up in parts (a single PUT is capped at 5 GiB by S3). */
  multipartThresholdBytes?: number
  /** Part size; S3 needs at least 5 MiB for every part but the last. Grown to stay within 10 000 parts. */
  partSizeBytes?: number
  /** Parallel uploads (parts of one archive, or files in plain mode). */
  concurrency?: number
  /** Clock for the {date}/{time} placeholders. */
  now?: () => Date
}

export type S3Encoding = 'gzip' | 'plain'

export interface S3PublisherSpec {
  bucket: string
  key: string
  region?: string
  endpoint?: string
  encoding: S3Encoding
}

export function parseS3PublisherSpec(spec: SpecConfig): S3PublisherSpec {
  const ctx = 's3 publisher'
  const params = spec.Params ?? undefined
  const bucket = checkBucket(optionalString(params, 'Bucket', ctx), ctx)
  const key = optionalString(params, 'Key', ctx)
  if (!key) throw new S3ReasonError(`${ctx}: Key is required`)
  const where = `${ctx} ${s3Url(bucket, key)}`
  const encoding = (optionalString(params, 'Encoding', where) || 'gzip').toLowerCase()
  if (encoding !== 'gzip' && encoding !== 'plain')
    throw new S3ReasonError(`${where}: Encoding must be gzip or plain, got ${JSON.stringify(encoding)}`)
  return {
    bucket,
    key,
    region: optionalString(params, 'Region', where) || undefined,
    endpoint: checkEndpoint(optionalString(params, 'Endpoint', where), where),
    encoding,
  }
}

export interface KeyContext {
  jobId: string
  executionId: string
  nodeId: string
  now: Date
}

/** Expands {jobID}, {executionID}, {nodeID}, {date} (YYYYMMDD) and {time} (HHMMSS, node local time). */
export function expandKeyPlaceholders(key: string, c: KeyContext): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0')
  const d = c.now
  const values: Record<string, string> = {
    '{jobID}': c.jobId,
    '{executionID}': c.executionId,
    '{nodeID}': c.nodeId,
    '{date}': `${pad(d.getFullYear(), 4)}${pad(d.getMonth() + 1)}${pad(d.getDate())}`,
    '{time}': `${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`,
  }
  return key.replace(/\{(jobID|executionID|nodeID|date|time)\}/g, (m) => values[m]!)
}

export class S3Publisher implements Publisher {
  readonly name = 's3'
  private readonly stagingDir: string
  private readonly log: Logger
  private readonly credentials?: S3Credentials
  private readonly multipartThreshold: number
  private readonly partSize: number
  private readonly concurrency: number
  private readonly now: () => Date

  constructor(opts: S3PublisherOptions = {}) {
    this.stagingDir = opts.stagingDir ?? os.tmpdir()
    this.log = opts.logger ?? logger().child({ component: 's3-publisher' })
    this.credentials = opts.credentials
    this.multipartThreshold = opts.multipartThresholdBytes ?? 64 * MiB
    this.partSize = Math.max(1, opts.partSizeBytes ?? 16 * MiB)
    this.concurrency = Math.max(1, opts.concurrency ?? 4)
    this.now = opts.now ?? (() => new Date())
  }

  async isInstalled(): Promise<boolean> {
    return true
  }

  validate(spec: SpecConfig): string | undefined {
    try {
      const p = parseS3PublisherSpec(spec)
      // Placeholders never introduce dot segments, so the raw key already tells.
      if (hasDotSegment(p.key)) return dotSegmentReason(p.bucket, p.key)
      return undefined
    } catch (err) {
      return (err as Error).message
    }
  }

  async publish(request: PublishRequest, signal: AbortSignal): Promise<SpecConfig> {
    signal.throwIfAborted()
    const p = parseS3PublisherSpec(request.spec)
    const expanded = expandKeyPlaceholders(p.key, {
      jobId: request.jobId,
      executionId: request.executionId,
      nodeId: request.nodeId,
      now: this.now(),
    })
    const key =
      p.encoding === 'gzip'
        ? expanded.endsWith('.tar.gz')
          ? expanded
          : `${expanded}.tar.gz`
        : expanded.endsWith('/')
          ? expanded
          : `${expanded}/`
    if (hasDotSegment(key)) throw new Error(dotSegmentReason(p.bucket, key))
    const region = await resolveRegion(p.region)
    const client = createS3Client({
      region,
      endpoint: p.endpoint,
      credentials: this.credentials,
      logger: this.log,
    })
    const where = `s3 publisher ${s3Url(p.bucket, key)}`
    let extra: Record<string, string> = {}
    try {
      if (p.encoding === 'gzip') extra = await this.publishArchive(client, p.bucket, key, request, signal)
      else await this.publishPlain(client, p.bucket, key, request, signal)
    } catch (err) {
      if (signal.aborted) throw new Error(`${where}: upload aborted`, { cause: err })
      throw new Error(`${where}: ${describeS3Error(err)}`, { cause: err })
    } finally {
      client.destroy()
    }
    // Region is the one actually used, so whoever reads the result (the orchestrator
    // pre-signing, a downloader) does not have to guess this node's AWS environment.
    return {
      Type: 's3',
      Params: { Bucket: p.bucket, Key: key, Region: region, Endpoint: p.endpoint ?? '', ...extra },
    }
  }

  private async publishArchive(
    client: S3Client,
    bucket: string,
    key: string,
    request: PublishRequest,
    signal: AbortSignal,
  ): Promise<Record<string, string>> {
    await fs.promises.mkdir(this.stagingDir, { recursive: true })
    const stage = await fs.promises.mkdtemp(path.join(this.stagingDir, 's3-publish-'))
    try {
      const archive = path.join(stage, 'results.tar.gz')
      await createResultsArchive(request.resultsDir, archive)
      signal.throwIfAborted()
      const { size } = await fs.promises.stat(archive)
      this.log.debug({ bucket, key, bytes: size }, 'uploading results archive')
      if (size >= this.multipartThreshold) {
        const versionId = await this.uploadMultipart(client, bucket, key, archive, size, signal)
        return versionId ? { VersionID: versionId } : {}
      }
      const sum = await sha256File(archive, 0, size)
      const res = await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: fs.createReadStream(archive),
          ContentLength: size,
          ContentType: 'application/gzip',
          // S3 verifies the bytes it received, and an s3 input can later check the same value.
          ChecksumSHA256: sum,
        }),
        { abortSignal: signal },
      )
      const out: Record<string, string> = { ChecksumSHA256: sum }
      if (res.VersionId) out.VersionID = res.VersionId
      return out
    } finally {
      await fs.promises.rm(stage, { recursive: true, force: true })
    }
  }

  /** Returns the new object's version ID, if the bucket is versioned. */
  private async uploadMultipart(
    client: S3Client,
    bucket: string,
    key: string,
    file: string,
    size: number,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const partSize = Math.max(this.partSize, Math.ceil(size / MAX_PARTS))
    const count = Math.ceil(size / partSize)
    const created = await client.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        ContentType: 'application/gzip',
        ChecksumAlgorithm: 'SHA256',
      }),
      { abortSignal: signal },
    )
    const uploadId = created.UploadId
    if (!uploadId) throw new S3ReasonError('the server returned no multipart upload ID')
    try {
      const parts: CompletedPart[] = new Array(count)
      const numbers = Array.from({ length: count }, (_, i) => i + 1)
      await forEachLimit(numbers, this.concurrency, signal, async (n, sig) => {
        const start = (n - 1) * partSize
        const length = Math.min(partSize, size - start)
        // One part in memory at a time per worker: hashed and sent from the same bytes.
        const body = await readRange(file, start, length)
        const sum = crypto.createHash('sha256').update(body).digest('base64')
        const res = await client.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: n,
            Body: body,
            ContentLength: length,
            ChecksumSHA256: sum,
          }),
          { abortSignal: sig },
        )
        parts[n - 1] = { PartNumber: n, ETag: res.ETag, ChecksumSHA256: sum }
      })
      const done = await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
        { abortSignal: signal },
      )
      return done.VersionId
    } catch (err) {
      // Abandoned parts are billed until aborted; the caller's signal may already be spent.
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
        .catch((e: unknown) => this.log.warn({ err: e, bucket, key }, 'cannot abort multipart upload'))
      throw err
    }
  }

  private async publishPlain(
    client: S3Client,
    bucket: string,
    prefix: string,
    request: PublishRequest,
    signal: AbortSignal,
  ): Promise<void> {
    const files = await listRegularFiles(request.resultsDir, this.log)
    this.log.debug({ bucket, prefix, files: files.length }, 'uploading results files')
    await forEachLimit(files, this.concurrency, signal, async (rel, sig) => {
      const file = path.join(request.resultsDir, rel)
      const { size } = await fs.promises.stat(file)
      const sum = await sha256File(file, 0, size)
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: `${prefix}${rel}`,
            Body: fs.createReadStream(file, size > 0 ? { start: 0, end: size - 1 } : undefined),
            ContentLength: size,
            ChecksumSHA256: sum,
          }),
          { abortSignal: sig },
        )
      } catch (err) {
        throw new S3ReasonError(`cannot upload ${rel}: ${describeS3Error(err)}`, { cause: err })
      }
    })
  }
}

function dotSegmentReason(bucket: string, key: string): string {
  return `s3 publisher ${s3Url(bucket, key)}: Key must not contain "." or ".." path segments`
}

async function readRange(file: string, start: number, length: number): Promise<Buffer> {
  const body = Buffer.alloc(length)
  const fh = await fs.promises.open(file, 'r')
  try {
    let done = 0
    while (done < length) {
      const { bytesRead } = await fh.read(body, done, length - done, start + done)
      if (bytesRead === 0) throw new S3ReasonError('the results archive shrank while it was being uploaded')
      done += bytesRead
    }
  } finally {
    await fh.close()
  }
  return body
}

/** Base64 SHA-256 of `length` bytes from `start`: the form S3 reports as ChecksumSHA256. */
async function sha256File(file: string, start: number, length: number): Promise<string> {
  const hash = crypto.createHash('sha256')
  if (length > 0) {
    for await (const chunk of fs.createReadStream(file, { start, end: start + length - 1 }))
      hash.update(chunk as Buffer)
  }
  return hash.digest('base64')
}

/**
 * Regular files below `root`, as POSIX relative paths, sorted. Symlinks
 * are skipped (following one could publish host files; S3 has no links), as are sockets,
 * FIFOs and devices; empty folders have no object to become.
 */
async function listRegularFiles(root: string, log: Logger): Promise<string[]> {
  const out: string[] = []
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.promises.readdir(path.join(root, rel), { withFileTypes: true })
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const e of entries) {
      const relPath = rel === '' ? e.name : `${rel}/${e.name}`
      if (e.isDirectory()) await walk(relPath)
      else if (e.isFile()) out.push(relPath)
      else log.warn({ path: relPath }, 's3 publisher: skipping a result entry that is not a regular file')
    }
  }
  await walk('')
  return out
}
