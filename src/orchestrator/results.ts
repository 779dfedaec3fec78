// Result transformers for GET /jobs/{id}/results (bacalhau-api.md §1.6 #17, §5.4): s3
// archives become s3PreSigned results, so that `job get` can fetch them with a plain GET
// using the orchestrator's AWS credentials instead of needing its own.
import { GetObjectCommand } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { paramValue } from '../models/ci.js'
import type { SpecConfig } from '../models/job.js'
import {
  createS3Client,
  resolveCredentials,
  resolveRegion,
  type S3Credentials,
  type S3Identity,
} from '../storage/s3/client.js'
import { logger, type Logger } from '../util/logger.js'

/** The Go SDK's presign default, used when PreSignedURLExpiration is unset or 0. */
export const DEFAULT_PRESIGN_EXPIRY_SECONDS = 15 * 60
/** SigV4 query signatures cannot outlive a week. */
const MAX_PRESIGN_EXPIRY_SECONDS = 7 * 24 * 3600

export interface TransformResultsOptions {
  /** Publishers.Types.S3.PreSignedURLDisabled. */
  presignDisabled?: boolean
  /** Publishers.Types.S3.PreSignedURLExpiration in seconds; 0 or unset: 15 minutes. */
  expiresInSeconds?: number
  logger?: Logger
  /** Replaces the standard AWS credential chain (embedding, tests). */
  credentials?: S3Credentials
}

/**
 * Returns the results as the /results endpoint shows them. Never throws: a result that
 * cannot be signed is returned unchanged (the client then reports it has no downloader).
 */
export async function transformResults(
  results: SpecConfig[],
  opts: TransformResultsOptions = {},
): Promise<SpecConfig[]> {
  const log = opts.logger ?? logger().child({ component: 'results' })
  if (opts.presignDisabled || !results.some(isSignable)) return results
  // Resolved once per request: each client would otherwise walk the whole chain again.
  let creds: S3Identity | undefined
  try {
    creds = await resolveCredentials(opts.credentials)
  } catch (err) {
    log.warn({ err }, 'cannot resolve AWS credentials; s3 results are returned unsigned')
    return results
  }
  if (!creds) {
    log.debug('no AWS credentials on the orchestrator; s3 results are returned unsigned')
    return results
  }
  const expiresIn = presignExpiry(opts.expiresInSeconds)
  return Promise.all(
    results.map(async (r) => {
      if (!isSignable(r)) return r
      try {
        return await presign(r, creds, expiresIn, log)
      } catch (err) {
        log.warn({ err, result: r.Params }, 'cannot pre-sign an s3 result; returning it unsigned')
        return r
      }
    }),
  )
}

function presignExpiry(seconds: number | undefined): number {
  if (!seconds || !Number.isFinite(seconds) || seconds <= 0) return DEFAULT_PRESIGN_EXPIRY_SECONDS
  return Math.min(Math.ceil(seconds), MAX_PRESIGN_EXPIRY_SECONDS)
}

function str(params: Record<string, unknown> | undefined, name: string): string {
  const v = paramValue(params, name)
  return typeof v === 'string' ? v : ''
}

/** Only archives are signed: a plain-encoded prefix is many objects, which one URL cannot serve. */
function isSignable(r: SpecConfig): boolean {
  // Stored results come from compute nodes: tolerate junk rather than fail the whole request.
  if (!r || typeof r.Type !== 'string' || r.Type.toLowerCase() !== 's3') return false
  const params = r.Params ?? undefined
  return str(params, 'Bucket') !== '' && str(params, 'Key').endsWith('.tar.gz')
}

async function presign(
  r: SpecConfig,
  credentials: S3Identity,
  expiresIn: number,
  log: Logger,
): Promise<SpecConfig> {
  const params = r.Params ?? {}
  const endpoint = str(params, 'Endpoint') || undefined
  const client = createS3Client({
    region: await resolveRegion(str(params, 'Region') || undefined),
    endpoint,
    credentials,
    logger: log,
  })
  try {
    const url = await getSignedUrl(
      client,
      new GetObjectCommand({
        Bucket: str(params, 'Bucket'),
        Key: str(params, 'Key'),
        VersionId: str(params, 'VersionID') || undefined,
      }),
      { expiresIn },
    )
    return {
      Type: 's3PreSigned',
      Params: { SourceSpec: { ...params }, PreSignedURL: url, Managed: false },
    }
  } finally {
    client.destroy()
  }
}
