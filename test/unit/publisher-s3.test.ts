import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import type { SpecConfig } from '../../src/models/job.js'
import { transformResults } from '../../src/orchestrator/results.js'
import { extractResultsArchive } from '../../src/publishers/local/archive.js'
import { expandKeyPlaceholders, S3Publisher } from '../../src/publishers/s3/index.js'
import type { PublishRequest } from '../../src/publishers/types.js'
import { S3Storage } from '../../src/storage/s3/index.js'
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js'

// Uploads and pre-signing use the standard AWS chain: point it at s3rver's account only,
// in this test process.
const CREDENTIAL_ENV: Record<string, string> = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
}
Object.assign(process.env, CREDENTIAL_ENV)
process.env.AWS_EC2_METADATA_DISABLED = 'true'
process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/aws-credentials'
process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config'
for (const k of ['AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_REGION', 'AWS_DEFAULT_REGION'])
  delete process.env[k]

const signal = new AbortController().signal

const hmac = (key: Buffer | string, data: string) => crypto.createHmac('sha256', key).update(data).digest()
const rfc3986 = (v: string) =>
  encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

/**
 * Recomputes a pre-signed URL's SigV4 query signature (host-only, unsigned payload), because
 * s3rver serves GETs whatever their signature: fetching the URL proves the addressing only.
 */
function expectedSignature(url: URL, secret: string): string {
  const q = url.searchParams
  const [date, region, service] = (q.get('X-Amz-Credential') ?? '').split('/').slice(1)
  const query = [...q.entries()]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
    .sort()
    .join('&')
  const canonical = ['GET', url.pathname, query, `host:${url.host}`, '', 'host', 'UNSIGNED-PAYLOAD'].join(
    '\n',
  )
  const scope = `${date}/${region}/${service}/aws4_request`
  const toSign = [
    'AWS4-HMAC-SHA256',
    q.get('X-Amz-Date'),
    scope,
    crypto.createHash('sha256').update(canonical).digest('hex'),
  ].join('\n')
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), service!), 'aws4_request')
  return crypto.createHmac('sha256', key).update(toSign).digest('hex')
}

describe('S3Publisher and transformResults against s3rver', () => {
  let s3: S3TestServer
  let tmp: string
  let resultsDir: string
  const big = crypto.randomBytes(300 * 1024)

  const request = (params: Record<string, unknown>, ids: Partial<PublishRequest> = {}): PublishRequest => ({
    executionId: 'e-1',
    jobId: 'j-1',
    nodeId: 'n-1',
    spec: { Type: 's3', Params: { Bucket: 'results', Endpoint: s3.endpoint, ...params } },
    resultsDir,
    ...ids,
  })

  const getObject = async (Bucket: string, Key: string): Promise<Buffer> => {
    const res = await s3.client.send(new GetObjectCommand({ Bucket, Key }))
    return Buffer.from(await res.Body!.transformToByteArray())
  }

  const extract = async (archive: Buffer): Promise<string> => {
    const dir = fs.mkdtempSync(path.join(tmp, 'x-'))
    const file = path.join(dir, 'a.tar.gz')
    fs.writeFileSync(file, archive)
    await extractResultsArchive(file, path.join(dir, 'out'))
    return path.join(dir, 'out')
  }

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'publisher-s3-test-'))
    resultsDir = path.join(tmp, 'results')
    fs.mkdirSync(path.join(resultsDir, 'outputs', 'nested'), { recursive: true })
    fs.writeFileSync(path.join(resultsDir, 'stdout'), 'hello\n')
    fs.writeFileSync(path.join(resultsDir, 'stderr'), '')
    fs.writeFileSync(path.join(resultsDir, 'exitCode'), '0')
    fs.writeFileSync(path.join(resultsDir, 'outputs', 'result.txt'), 'forty-two\n')
    fs.writeFileSync(path.join(resultsDir, 'outputs', 'nested', 'deep.txt'), 'deep\n')
    // Archived as a link, but never uploaded by plain encoding (S3 has no links).
    fs.symlinkSync('result.txt', path.join(resultsDir, 'outputs', 'link'))
    s3 = await startS3Server()
    await s3.client.send(new CreateBucketCommand({ Bucket: 'results' }))
  })
  after(async () => {
    await s3.stop()
    fs.rmSync(tmp, { recursive: true, force: true })
  })

  it('validates its params', () => {
    const p = new S3Publisher()
    const v = (params: Record<string, unknown>) => p.validate({ Type: 's3', Params: params })
    assert.match(v({ Key: 'k' }) ?? '', /s3 publisher: Bucket is required/)
    assert.match(v({ Bucket: 'b' }) ?? '', /s3 publisher: Key is required/)
    assert.match(v({ Bucket: 'b', Key: 'k', Encoding: 'zip' }) ?? '', /Encoding must be gzip or plain/)
    assert.match(v({ Bucket: 'b', Key: '../other/k' }) ?? '', /must not contain "\." or "\.\." path segments/)
    assert.equal(v({ bucket: 'b', key: 'k/{jobID}', encoding: 'PLAIN', region: 'eu-west-1' }), undefined)
  })

  it('expands key placeholders', () => {
    const key = expandKeyPlaceholders('r/{jobID}/{executionID}/{nodeID}/{date}-{time}/{other}', {
      jobId: 'j-9',
      executionId: 'e-9',
      nodeId: 'n-9',
      now: new Date(2024, 2, 5, 7, 8, 9),
    })
    assert.equal(key, 'r/j-9/e-9/n-9/20240305-070809/{other}')
  })

  let gzipResult: SpecConfig

  it('uploads a gzip archive with .tar.gz appended, which extracts to the results', async () => {
    const published = await new S3Publisher({ stagingDir: path.join(tmp, 'staging') }).publish(
      request({ Key: 'jobs/{jobID}/{executionID}' }),
      signal,
    )
    gzipResult = published
    const params = published.Params!
    assert.equal(published.Type, 's3')
    assert.equal(params.Bucket, 'results')
    assert.equal(params.Key, 'jobs/j-1/e-1.tar.gz')
    assert.equal(params.Region, 'us-east-1')
    assert.equal(params.Endpoint, s3.endpoint)
    const bytes = await getObject('results', 'jobs/j-1/e-1.tar.gz')
    assert.equal(params.ChecksumSHA256, crypto.createHash('sha256').update(bytes).digest('base64'))
    const out = await extract(bytes)
    assert.equal(fs.readFileSync(path.join(out, 'stdout'), 'utf8'), 'hello\n')
    assert.equal(fs.readFileSync(path.join(out, 'stderr'), 'utf8'), '')
    assert.equal(fs.readFileSync(path.join(out, 'exitCode'), 'utf8'), '0')
    assert.equal(fs.readFileSync(path.join(out, 'outputs', 'result.txt'), 'utf8'), 'forty-two\n')
    assert.equal(fs.readFileSync(path.join(out, 'outputs', 'nested', 'deep.txt'), 'utf8'), 'deep\n')
    assert.equal(fs.readlinkSync(path.join(out, 'outputs', 'link')), 'result.txt')
    // The staging archive is gone.
    assert.deepEqual(fs.readdirSync(path.join(tmp, 'staging')), [])
  })

  it('publishes a result the s3 input source can fetch and verify', async () => {
    const p = await new S3Storage().prepare(
      { Source: { Type: 's3', Params: gzipResult.Params }, Alias: '', Target: '/prev' },
      path.join(tmp, 'reuse'),
      signal,
    )
    assert.deepEqual(fs.readdirSync(p.hostPath), ['e-1.tar.gz'])
  })

  it('keeps a key that already ends in .tar.gz and expands {date}/{time}', async () => {
    const published = await new S3Publisher({ now: () => new Date(2024, 11, 31, 23, 59, 58) }).publish(
      request({ Key: 'runs/{date}/{time}/{nodeID}.tar.gz' }),
      signal,
    )
    assert.equal(published.Params!.Key, 'runs/20241231/235958/n-1.tar.gz')
    assert.ok((await getObject('results', 'runs/20241231/235958/n-1.tar.gz')).length > 0)
  })

  it('uploads one object per file under the key for Encoding plain', async () => {
    const published = await new S3Publisher().publish(
      request({ Key: 'plain/{nodeID}/{executionID}', Encoding: 'plain' }),
      signal,
    )
    assert.deepEqual(published, {
      Type: 's3',
      Params: { Bucket: 'results', Key: 'plain/n-1/e-1/', Region: 'us-east-1', Endpoint: s3.endpoint },
    })
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: 'results', Prefix: 'plain/' }))
    assert.deepEqual((listed.Contents ?? []).map((o) => o.Key).sort(), [
      'plain/n-1/e-1/exitCode',
      'plain/n-1/e-1/outputs/nested/deep.txt',
      'plain/n-1/e-1/outputs/result.txt',
      'plain/n-1/e-1/stderr',
      'plain/n-1/e-1/stdout',
    ])
    assert.equal((await getObject('results', 'plain/n-1/e-1/stdout')).toString(), 'hello\n')
    assert.equal((await getObject('results', 'plain/n-1/e-1/outputs/nested/deep.txt')).toString(), 'deep\n')
    assert.equal((await getObject('results', 'plain/n-1/e-1/stderr')).length, 0)
  })

  it('uploads large archives in parts', async () => {
    const dir = path.join(tmp, 'big-results')
    fs.mkdirSync(path.join(dir, 'outputs'), { recursive: true })
    fs.writeFileSync(path.join(dir, 'stdout'), 'big\n')
    fs.writeFileSync(path.join(dir, 'exitCode'), '0')
    fs.writeFileSync(path.join(dir, 'outputs', 'random.bin'), big)
    const before = s3.requests.length
    const published = await new S3Publisher({
      multipartThresholdBytes: 1,
      partSizeBytes: 100 * 1024,
    }).publish({ ...request({ Key: 'big/{executionID}' }), resultsDir: dir }, signal)
    const parts = s3.requests.slice(before).filter((r) => r.startsWith('PUT ') && r.includes('partNumber='))
    assert.ok(parts.length >= 3, `expected several parts, got ${parts.length}`)
    const out = await extract(await getObject('results', published.Params!.Key as string))
    assert.ok(fs.readFileSync(path.join(out, 'outputs', 'random.bin')).equals(big))
    assert.equal(fs.readFileSync(path.join(out, 'stdout'), 'utf8'), 'big\n')
  })

  it('names the bucket and key when publishing fails', async () => {
    await assert.rejects(
      new S3Publisher().publish(request({ Bucket: 'no-such-bucket', Key: 'k/{jobID}' }), signal),
      /^Error: s3 publisher s3:\/\/no-such-bucket\/k\/j-1\.tar\.gz: bucket does not exist \(NoSuchBucket\)/,
    )
    await assert.rejects(
      new S3Publisher().publish(request({ Bucket: 'no-such-bucket', Key: 'k', Encoding: 'plain' }), signal),
      /s3 publisher s3:\/\/no-such-bucket\/k\/: cannot upload \w+: bucket does not exist \(NoSuchBucket\)/,
    )
  })

  it('pre-signs .tar.gz results; a plain GET of the URL returns the archive', async () => {
    const plain: SpecConfig = {
      Type: 's3',
      Params: { Bucket: 'results', Key: 'plain/n-1/e-1/', Region: 'us-east-1', Endpoint: s3.endpoint },
    }
    const local: SpecConfig = { Type: 'urlDownload', Params: { URL: 'http://127.0.0.1:6001/e-1.tar.gz' } }
    const [signed, plainOut, localOut] = await transformResults([gzipResult, plain, local], {
      expiresInSeconds: 600,
    })
    assert.equal(signed!.Type, 's3PreSigned')
    const params = signed!.Params as { SourceSpec: unknown; PreSignedURL: string; Managed: boolean }
    assert.deepEqual(params.SourceSpec, gzipResult.Params)
    assert.equal(params.Managed, false)
    const url = new URL(params.PreSignedURL)
    assert.equal(url.origin, s3.endpoint)
    assert.equal(url.pathname, '/results/jobs/j-1/e-1.tar.gz')
    assert.equal(url.searchParams.get('X-Amz-Expires'), '600')
    assert.equal(url.searchParams.get('X-Amz-Algorithm'), 'AWS4-HMAC-SHA256')
    assert.match(
      url.searchParams.get('X-Amz-Credential') ?? '',
      /^S3RVER\/\d{8}\/us-east-1\/s3\/aws4_request$/,
    )
    assert.equal(url.searchParams.get('X-Amz-SignedHeaders'), 'host')
    assert.equal(url.searchParams.get('X-Amz-Signature'), expectedSignature(url, 'S3RVER'))
    const res = await fetch(params.PreSignedURL)
    assert.equal(res.status, 200)
    const body = Buffer.from(await res.arrayBuffer())
    assert.ok(body.equals(await getObject('results', 'jobs/j-1/e-1.tar.gz')))
    assert.equal(plainOut, plain)
    assert.equal(localOut, local)
  })

  it('leaves results unsigned when pre-signing is disabled or impossible', async () => {
    const results = [gzipResult]
    assert.deepEqual(await transformResults(results, { presignDisabled: true }), results)
    const broken: SpecConfig = {
      Type: 's3',
      Params: { Bucket: 'results', Key: 'x.tar.gz', Endpoint: 'http://[::1' },
    }
    const out = await transformResults([broken, gzipResult])
    assert.equal(out[0], broken)
    assert.equal(out[1]!.Type, 's3PreSigned')
  })

  it('leaves results as s3 when the orchestrator has no credentials', async () => {
    for (const k of Object.keys(CREDENTIAL_ENV)) delete process.env[k]
    try {
      const out = await transformResults([gzipResult])
      assert.equal(out[0], gzipResult)
    } finally {
      Object.assign(process.env, CREDENTIAL_ENV)
    }
  })
})
