// The s3 input source's params (bacalhau-api.md §5.3), read case-insensitively and checked
// once so that validate() at bid time and prepare() agree on what a spec means.
import { checkBucket, checkEndpoint, optionalString, S3ReasonError, s3Url } from './client.js'

export interface S3SourceSpec {
  bucket: string
  /** As given; '' means the whole bucket. */
  key: string
  filter?: RegExp
  region?: string
  endpoint?: string
  versionId?: string
  /** Base64 SHA-256 (a hex digest is converted), or a multipart `<base64>-<parts>` value. */
  checksumSHA256?: string
}

/** `Key` ending in `/` or `*`, or empty, lists a prefix; anything else is one object. */
export function isPrefixKey(key: string): boolean {
  return key === '' || key.endsWith('/') || key.endsWith('*')
}

/** The listing prefix for a prefix key, as Bacalhau computes it (trimmed, one trailing `*` dropped). */
export function listingPrefix(key: string): string {
  const k = key.trim()
  return k.endsWith('*') ? k.slice(0, -1) : k
}

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/
const B64_SHA256 = /^[A-Za-z0-9+/]{43}=$/
const COMPOSITE = /^[A-Za-z0-9+/]{43}=-[1-9][0-9]*$/

/**
 * The SDK puts the key in the URL path unescaped, and servers normalise `.`/`..` there: the
 * key `a/../../x` reaches another object, or with path-style addressing another bucket.
 */
export function hasDotSegment(key: string): boolean {
  return key.split('/').some((s) => s === '.' || s === '..')
}

export function isCompositeChecksum(sum: string): boolean {
  return COMPOSITE.test(sum)
}

/** Throws S3ReasonError naming the input; validate() turns it into a bid rejection reason. */
export function parseS3Source(params: Record<string, unknown> | undefined): S3SourceSpec {
  const ctx = 's3 input'
  const bucket = checkBucket(optionalString(params, 'Bucket', ctx), ctx)
  const key = optionalString(params, 'Key', ctx) ?? ''
  const where = `${ctx} ${s3Url(bucket, key)}`
  const spec: S3SourceSpec = { bucket, key }

  const filter = optionalString(params, 'Filter', where)
  if (filter) {
    try {
      spec.filter = new RegExp(filter)
    } catch (err) {
      throw new S3ReasonError(`${where}: Filter is not a valid regular expression: ${(err as Error).message}`)
    }
  }
  spec.region = optionalString(params, 'Region', where) || undefined
  spec.endpoint = checkEndpoint(optionalString(params, 'Endpoint', where), where)
  spec.versionId = optionalString(params, 'VersionID', where) || undefined

  const sum = optionalString(params, 'ChecksumSHA256', where)
  if (sum) {
    if (HEX_SHA256.test(sum)) spec.checksumSHA256 = Buffer.from(sum, 'hex').toString('base64')
    else if (B64_SHA256.test(sum) || COMPOSITE.test(sum)) spec.checksumSHA256 = sum
    else
      throw new S3ReasonError(
        `${where}: ChecksumSHA256 must be a base64 (or hex) SHA-256 digest, got ${JSON.stringify(sum)}`,
      )
  }

  if (isPrefixKey(key)) {
    // Ignoring these for a prefix (as Go does) would let a job believe its data was pinned or verified.
    if (spec.versionId) throw new S3ReasonError(`${where}: VersionID needs a single-object Key, not a prefix`)
    if (spec.checksumSHA256)
      throw new S3ReasonError(`${where}: ChecksumSHA256 needs a single-object Key, not a prefix`)
  } else {
    if (hasDotSegment(key))
      throw new S3ReasonError(
        `${where}: Key must not contain "." or ".." path segments (they are not sent literally)`,
      )
    if (key.includes('\0')) throw new S3ReasonError(`${where}: Key contains a NUL byte`)
  }
  if (Buffer.byteLength(key) > 1024) throw new S3ReasonError(`${where}: Key is longer than 1024 bytes`)
  // Partition [v1.7+] is accepted and ignored: every partition gets all objects, Bacalhau's default.
  return spec
}
