// S3 plumbing shared by the s3 input source, the s3 publisher and result pre-signing:
// client construction, region/credential resolution, params parsing and error wording.
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'
import { paramValue } from '../../models/ci.js'
import { logger as rootLogger, type Logger } from '../../util/logger.js'

// The SDK is pinned on purpose (STACK.md §1); its start-up warning that later releases need
// Node 22 is noise to every user of the CLI and node, who cannot act on it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

/** Bacalhau's fallback when neither the spec nor the AWS environment names a region. */
export const DEFAULT_REGION = 'us-east-1'

// Derived from the client's own types: @aws-sdk/types is only a transitive dependency.
/** Static keys or a provider function, as S3ClientConfig.credentials takes them. */
export type S3Credentials = NonNullable<S3ClientConfig['credentials']>
/** Resolved keys (access key, secret, optional session token and expiry). */
export type S3Identity = Awaited<ReturnType<S3Client['config']['credentials']>>

export interface S3ClientOptions {
  region: string
  /** Custom endpoint (MinIO, Ceph, s3rver...): path-style addressing is then forced. */
  endpoint?: string
  /** Overrides the standard AWS credential chain (env, shared files, SSO, IMDS...). */
  credentials?: S3Credentials
  /** Receives the SDK's own warnings, at debug level. */
  logger?: Logger
}

/**
 * Without a logger the SDK prints some warnings with console.warn (e.g. on every failed
 * streamed upload), which would land in a CLI's output. Our own errors already say what
 * failed, so its warnings only matter when debugging. Its info level carries whole
 * requests and responses, so that is dropped.
 */
function sdkLogger(log: Logger): NonNullable<S3ClientConfig['logger']> {
  const debug = (...args: unknown[]) => log.debug({ sdk: args }, 'aws sdk')
  const none = () => {}
  return { trace: none, debug: none, info: none, warn: debug, error: debug }
}

export function createS3Client(opts: S3ClientOptions): S3Client {
  const config: S3ClientConfig = {
    region: opts.region,
    // A spec without Region gets the node's default, which may not be the bucket's; AWS
    // then answers 301 and the SDK retries in the right region instead of failing.
    followRegionRedirects: true,
    // Flexible checksums in WHEN_SUPPORTED mode send streamed bodies as aws-chunked with a
    // trailer, which S3-compatible servers such as s3rver store verbatim (corrupt objects).
    // Integrity is instead checked explicitly with ChecksumSHA256 where it matters.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Without a connect timeout a black-holed endpoint stalls a download until the job times out.
    requestHandler: { connectionTimeout: 10_000 },
    logger: sdkLogger(opts.logger ?? rootLogger().child({ component: 's3' })),
  }
  if (opts.endpoint) {
    config.endpoint = opts.endpoint
    // Virtual-hosted style would need DNS for `<bucket>.<host>`, which custom endpoints lack.
    config.forcePathStyle = true
  }
  if (opts.credentials) config.credentials = opts.credentials
  return new S3Client(config)
}

/**
 * The region to use when the spec gives none: the AWS environment's (AWS_REGION, the shared
 * config file's profile), else us-east-1. Read through the SDK so its precedence rules apply.
 */
export async function resolveRegion(given?: string): Promise<string> {
  if (given) return given
  const probe = new S3Client({})
  try {
    const region = await probe.config.region()
    return region || DEFAULT_REGION
  } catch {
    return DEFAULT_REGION
  } finally {
    probe.destroy()
  }
}

/** Resolves the standard credential chain once; undefined when it finds nothing. */
export async function resolveCredentials(override?: S3Credentials): Promise<S3Identity | undefined> {
  if (override) return typeof override === 'function' ? override() : override
  const probe = new S3Client({ region: DEFAULT_REGION })
  try {
    return await probe.config.credentials()
  } catch {
    return undefined
  } finally {
    probe.destroy()
  }
}

export function s3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`
}

/** Reason text for a failure inside the s3 code that needs no further translation. */
export class S3ReasonError extends Error {
  override name = 'S3ReasonError'
}

interface SdkErrorLike {
  name?: string
  message?: string
  code?: string
  $metadata?: { httpStatusCode?: number }
}

/** Turns an SDK, network or file-system error into a short reason a job author can act on. */
export function describeS3Error(err: unknown): string {
  if (err instanceof S3ReasonError) return err.message
  const e = (err ?? {}) as SdkErrorLike
  const name = e.name ?? ''
  const status = e.$metadata?.httpStatusCode
  switch (name) {
    case 'NoSuchBucket':
      return 'bucket does not exist (NoSuchBucket)'
    case 'NoSuchKey':
      return 'object does not exist (NoSuchKey)'
    case 'AccessDenied':
    case 'Forbidden':
      return "access denied (check the node's AWS credentials and the bucket policy)"
    case 'InvalidAccessKeyId':
    case 'SignatureDoesNotMatch':
    case 'ExpiredToken':
    case 'InvalidToken':
      return `AWS credentials rejected (${name})`
    case 'CredentialsProviderError':
      return 'no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a shared credentials file)'
    case 'PreconditionFailed':
      return 'the object changed while it was being downloaded'
    case 'AbortError':
      return 'aborted'
    case 'TimeoutError':
      return 'timed out'
  }
  if (status === 404) return 'not found (404)'
  if (status === 403) return "access denied (check the node's AWS credentials and the bucket policy)"
  if (status === 412) return 'the object changed while it was being downloaded'
  if (e.code && /^E[A-Z]+$/.test(e.code)) return `cannot reach the S3 endpoint: ${e.message ?? e.code}`
  const message = e.message && e.message !== 'UnknownError' ? e.message : ''
  if (name && name !== 'Error' && message) return `${name}: ${message}`
  if (message) return message
  if (name) return status ? `${name} (HTTP ${status})` : name
  return String(err)
}

export function isNotFound(err: unknown): boolean {
  const e = (err ?? {}) as SdkErrorLike
  return (
    e.name === 'NotFound' ||
    e.name === 'NoSuchKey' ||
    e.name === 'NoSuchBucket' ||
    e.$metadata?.httpStatusCode === 404
  )
}

/** Reads an optional string param (case-insensitive name); null counts as absent, as in Go. */
export function optionalString(
  params: Record<string, unknown> | undefined,
  name: string,
  context: string,
): string | undefined {
  const v = paramValue(params, name)
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string') throw new S3ReasonError(`${context}: ${name} must be a string`)
  return v
}

/** Bucket names never contain `/`; one that does would silently shift the path-style URL. */
export function checkBucket(bucket: string | undefined, context: string): string {
  if (!bucket) throw new S3ReasonError(`${context}: Bucket is required`)
  if (bucket.includes('/')) throw new S3ReasonError(`${context}: invalid Bucket ${JSON.stringify(bucket)}`)
  return bucket
}

export function checkEndpoint(endpoint: string | undefined, context: string): string | undefined {
  if (!endpoint) return undefined
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    throw new S3ReasonError(
      `${context}: Endpoint must be an http(s) URL such as http://127.0.0.1:9000, got ${JSON.stringify(endpoint)}`,
    )
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new S3ReasonError(`${context}: Endpoint must use http or https, got ${JSON.stringify(endpoint)}`)
  return endpoint
}
