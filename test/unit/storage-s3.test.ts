import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import type { InputSource } from '../../src/models/job.js'
import { S3Storage } from '../../src/storage/s3/index.js'
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js'

// The provider uses the standard AWS chain: point it at s3rver's account and nothing else
// (no shared files, no instance metadata), in this test process only.
process.env.AWS_ACCESS_KEY_ID = 'S3RVER'
process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER'
process.env.AWS_EC2_METADATA_DISABLED = 'true'
process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/aws-credentials'
process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config'
for (const k of ['AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_REGION', 'AWS_DEFAULT_REGION'])
  delete process.env[k]

const signal = new AbortController().signal

const OBJECTS: Record<string, string> = {
  'ds/a.csv': 'a,1\n',
  'ds/b.txt': 'bee\n',
  'ds/sub/c.csv': 'c,3\n',
  'ds/sub/deep/d.csv': 'd,4\n',
  'ds/subway.txt': 'train\n',
  'mk/empty/': '',
  'mk/file.txt': 'marker test\n',
  'other/x.txt': 'not in ds\n',
}

/** Relative paths of every file and folder below `dir`, folders with a trailing slash. */
function tree(dir: string): string[] {
  const out: string[] = []
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name
      if (e.isDirectory()) {
        out.push(`${r}/`)
        walk(r)
      } else out.push(r)
    }
  }
  walk('')
  return out.sort()
}

describe('S3Storage against s3rver', () => {
  let s3: S3TestServer
  let tmp: string
  let n = 0
  const workDir = () => path.join(tmp, `w${n++}`)
  const input = (params: Record<string, unknown>, target = '/inputs'): InputSource => ({
    Source: { Type: 's3', Params: { Endpoint: s3.endpoint, ...params } },
    Alias: '',
    Target: target,
  })

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-s3-test-'))
    s3 = await startS3Server()
    await s3.client.send(new CreateBucketCommand({ Bucket: 'inputs' }))
    await s3.client.send(new CreateBucketCommand({ Bucket: 'tiny' }))
    for (const [Key, Body] of Object.entries(OBJECTS))
      await s3.client.send(
        new PutObjectCommand({ Bucket: 'inputs', Key, Body, ContentLength: Buffer.byteLength(Body) }),
      )
    await s3.client.send(new PutObjectCommand({ Bucket: 'tiny', Key: 'one.txt', Body: '1' }))
    await s3.client.send(new PutObjectCommand({ Bucket: 'tiny', Key: 'two/three.txt', Body: '3' }))
  })
  after(async () => {
    await s3.stop()
    fs.rmSync(tmp, { recursive: true, force: true })
  })

  it('is installed when the AWS chain has credentials', async () => {
    assert.equal(await new S3Storage().isInstalled(), true)
  })

  it('downloads a single object as a file inside the mounted directory', async () => {
    const storage = new S3Storage()
    const wd = workDir()
    const p = await storage.prepare(input({ Bucket: 'inputs', Key: 'ds/b.txt' }, '/data'), wd, signal)
    assert.equal(p.target, '/data')
    assert.equal(p.readOnly, true)
    assert.ok(p.hostPath.startsWith(wd + path.sep))
    assert.deepEqual(tree(p.hostPath), ['b.txt'])
    assert.equal(fs.readFileSync(path.join(p.hostPath, 'b.txt'), 'utf8'), 'bee\n')
    await storage.cleanup(p)
    assert.equal(fs.existsSync(p.hostPath), false)
  })

  it('reads params case-insensitively', async () => {
    const p = await new S3Storage().prepare(
      {
        Source: { Type: 's3', Params: { bucket: 'inputs', KEY: 'ds/a.csv', endpoint: s3.endpoint } },
        Alias: '',
        Target: '/i',
      },
      workDir(),
      signal,
    )
    assert.deepEqual(tree(p.hostPath), ['a.csv'])
  })

  it('lists a prefix ending in / and keeps nested paths below it', async () => {
    const p = await new S3Storage().prepare(input({ Bucket: 'inputs', Key: 'ds/' }), workDir(), signal)
    assert.deepEqual(tree(p.hostPath), [
      'a.csv',
      'b.txt',
      'sub/',
      'sub/c.csv',
      'sub/deep/',
      'sub/deep/d.csv',
      'subway.txt',
    ])
    assert.equal(fs.readFileSync(path.join(p.hostPath, 'sub/deep/d.csv'), 'utf8'), 'd,4\n')
  })

  it('lists a prefix ending in *, stripping only its folder part', async () => {
    const p = await new S3Storage().prepare(input({ Bucket: 'inputs', Key: 'ds/sub*' }), workDir(), signal)
    assert.deepEqual(tree(p.hostPath), ['sub/', 'sub/c.csv', 'sub/deep/', 'sub/deep/d.csv', 'subway.txt'])
  })

  it('lists the whole bucket for an empty Key', async () => {
    const p = await new S3Storage().prepare(input({ Bucket: 'tiny' }), workDir(), signal)
    assert.deepEqual(tree(p.hostPath), ['one.txt', 'two/', 'two/three.txt'])
  })

  it('applies Filter to the key after the prefix', async () => {
    const csv = await new S3Storage().prepare(
      input({ Bucket: 'inputs', Key: 'ds/', Filter: '\\.csv$' }),
      workDir(),
      signal,
    )
    assert.deepEqual(tree(csv.hostPath), ['a.csv', 'sub/', 'sub/c.csv', 'sub/deep/', 'sub/deep/d.csv'])
    // With `ds/sub*` the whole prefix `ds/sub` is removed before matching, so `^way` matches subway.txt.
    const way = await new S3Storage().prepare(
      input({ Bucket: 'inputs', Key: 'ds/sub*', Filter: '^way' }),
      workDir(),
      signal,
    )
    assert.deepEqual(tree(way.hostPath), ['subway.txt'])
  })

  it('turns folder marker objects into empty folders', async () => {
    const p = await new S3Storage().prepare(input({ Bucket: 'inputs', Key: 'mk/' }), workDir(), signal)
    assert.deepEqual(tree(p.hostPath), ['empty/', 'file.txt'])
  })

  it('passes VersionID on HEAD and GET', async () => {
    const before = s3.requests.length
    const p = await new S3Storage().prepare(
      input({ Bucket: 'inputs', Key: 'ds/b.txt', VersionID: 'v-123' }),
      workDir(),
      signal,
    )
    // s3rver keeps no versions and ignores versionId, so only the request itself can be checked.
    const sent = s3.requests.slice(before)
    assert.ok(
      sent.some((r) => r.startsWith('HEAD /inputs/ds/b.txt?versionId=v-123')),
      sent.join(' | '),
    )
    assert.ok(
      sent.some((r) => r.startsWith('GET /inputs/ds/b.txt?versionId=v-123')),
      sent.join(' | '),
    )
    assert.deepEqual(tree(p.hostPath), ['b.txt'])
  })

  it('accepts a matching ChecksumSHA256 in base64 or hex', async () => {
    const digest = crypto.createHash('sha256').update('bee\n')
    const hex = digest.copy().digest('hex')
    const b64 = digest.digest('base64')
    for (const sum of [b64, hex]) {
      const p = await new S3Storage().prepare(
        input({ Bucket: 'inputs', Key: 'ds/b.txt', ChecksumSHA256: sum }),
        workDir(),
        signal,
      )
      assert.equal(fs.readFileSync(path.join(p.hostPath, 'b.txt'), 'utf8'), 'bee\n')
    }
  })

  it('refuses a ChecksumSHA256 mismatch and leaves nothing behind', async () => {
    const wd = workDir()
    const wrong = crypto.createHash('sha256').update('something else').digest('base64')
    await assert.rejects(
      new S3Storage().prepare(
        input({ Bucket: 'inputs', Key: 'ds/b.txt', ChecksumSHA256: wrong }),
        wd,
        signal,
      ),
      (err: Error) => {
        assert.match(err.message, /^s3 input s3:\/\/inputs\/ds\/b\.txt: checksum mismatch/)
        assert.ok(err.message.includes(wrong))
        return true
      },
    )
    assert.deepEqual(fs.readdirSync(wd), [])
  })

  it('names a missing bucket', async () => {
    await assert.rejects(
      new S3Storage().prepare(input({ Bucket: 'no-such-bucket', Key: 'x.txt' }), workDir(), signal),
      /s3 input s3:\/\/no-such-bucket\/x\.txt: bucket no-such-bucket does not exist \(NoSuchBucket\)/,
    )
    await assert.rejects(
      new S3Storage().prepare(input({ Bucket: 'no-such-bucket', Key: 'dir/' }), workDir(), signal),
      /s3 input s3:\/\/no-such-bucket\/dir\/: bucket does not exist \(NoSuchBucket\)/,
    )
  })

  it('names a missing key', async () => {
    const wd = workDir()
    await assert.rejects(
      new S3Storage().prepare(input({ Bucket: 'inputs', Key: 'ds/missing.txt' }), wd, signal),
      /s3 input s3:\/\/inputs\/ds\/missing\.txt: object ds\/missing\.txt does not exist in bucket inputs \(NoSuchKey\)/,
    )
    assert.deepEqual(fs.readdirSync(wd), [])
  })

  it('refuses inputs over maxBytes without leaving partial files', async () => {
    const wd = workDir()
    const storage = new S3Storage({ maxBytes: 5 })
    await assert.rejects(
      storage.prepare(input({ Bucket: 'inputs', Key: 'ds/' }), wd, signal),
      /s3 input s3:\/\/inputs\/ds\/: input size \d+ bytes exceeds the 5-byte limit/,
    )
    await assert.rejects(
      storage.prepare(input({ Bucket: 'inputs', Key: 'other/x.txt' }), wd, signal),
      /s3 input s3:\/\/inputs\/other\/x\.txt: input size 10 bytes exceeds the 5-byte limit/,
    )
    assert.deepEqual(fs.readdirSync(wd), [])
  })

  it('estimates sizes from HEAD and listings', async () => {
    const storage = new S3Storage()
    assert.equal(await storage.estimateSize(input({ Bucket: 'inputs', Key: 'ds/b.txt' })), 4)
    const all = ['ds/a.csv', 'ds/b.txt', 'ds/sub/c.csv', 'ds/sub/deep/d.csv', 'ds/subway.txt']
    const expected = all.reduce((s, k) => s + Buffer.byteLength(OBJECTS[k]!), 0)
    assert.equal(await storage.estimateSize(input({ Bucket: 'inputs', Key: 'ds/' })), expected)
    assert.equal(await storage.estimateSize(input({ Bucket: 'inputs', Key: 'nope.txt' })), undefined)
  })

  it('refuses a single-object key with .. segments before sending anything', async () => {
    const storage = new S3Storage()
    const src = input({ Bucket: 'inputs', Key: 'a/../../x' })
    assert.match(storage.validate(src) ?? '', /Key must not contain "\." or "\.\." path segments/)
    const before = s3.requests.length
    await assert.rejects(storage.prepare(src, workDir(), signal), /path segments/)
    assert.equal(s3.requests.length, before)
  })

  it('validates params', () => {
    const storage = new S3Storage()
    const v = (params: Record<string, unknown>) =>
      storage.validate({ Source: { Type: 's3', Params: params }, Alias: '', Target: '/i' })
    assert.match(v({ Key: 'x' }) ?? '', /s3 input: Bucket is required/)
    assert.match(
      v({ Bucket: 'b', Key: 'x/', Filter: '([' }) ?? '',
      /Filter is not a valid regular expression/,
    )
    assert.match(v({ Bucket: 'b', Key: 'x', Endpoint: 'minio:9000' }) ?? '', /Endpoint must/)
    assert.match(v({ Bucket: 'b', Key: 'x', ChecksumSHA256: 'abc' }) ?? '', /ChecksumSHA256 must be/)
    assert.match(v({ Bucket: 'b', Key: 'x/', VersionID: 'v1' }) ?? '', /VersionID needs a single-object Key/)
    assert.match(v({ Bucket: 'b', Key: 5 }) ?? '', /Key must be a string/)
    assert.equal(v({ Bucket: 'b', Key: 'dir/*', Filter: '\\.csv$', Region: 'eu-west-1' }), undefined)
    assert.equal(v({ bucket: 'b' }), undefined)
  })
})

/**
 * A scripted S3 endpoint for what s3rver cannot do: hold keys with `..` segments (it
 * normalises them), stall a download, or paginate listings (its continuation tokens use DES,
 * which Node 20's OpenSSL 3 refuses, so any truncated listing is an InternalError).
 */
describe('S3Storage against a scripted endpoint', () => {
  let server: http.Server
  let endpoint: string
  let tmp: string
  const stalled = new Set<http.ServerResponse>()

  const requests: string[] = []
  const listXml = (keys: Array<[string, number]>, next?: string) =>
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>' +
    `<KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>${next ? 'true' : 'false'}</IsTruncated>` +
    (next ? `<NextContinuationToken>${next}</NextContinuationToken>` : '') +
    keys.map(([k, s]) => `<Contents><Key>${k}</Key><Size>${s}</Size></Contents>`).join('') +
    '</ListBucketResult>'
  const xml = (res: http.ServerResponse, body: string) => {
    res.writeHead(200, { 'content-type': 'application/xml' })
    res.end(body)
  }

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-s3-hostile-'))
    server = http.createServer((req, res) => {
      const url = req.url ?? ''
      requests.push(`${req.method} ${url}`)
      const listing = url.includes('list-type=2')
      if (url.startsWith('/evil/') && listing) {
        xml(
          res,
          listXml([
            ['p/ok.txt', 2],
            ['p/../../escape.txt', 3],
          ]),
        )
      } else if (url.startsWith('/paged/') && listing) {
        if (url.includes('continuation-token=page-3')) xml(res, listXml([['p/5.txt', 2]]))
        else if (url.includes('continuation-token=page-2'))
          xml(
            res,
            listXml(
              [
                ['p/sub/3.txt', 2],
                ['p/sub/4.txt', 2],
              ],
              'page-3',
            ),
          )
        else
          xml(
            res,
            listXml(
              [
                ['p/1.txt', 2],
                ['p/2.txt', 2],
              ],
              'page-2',
            ),
          )
      } else if (url.startsWith('/liar/') && listing) {
        xml(res, listXml([['p/small.bin', 1]]))
      } else if (url.startsWith('/liar/p/small.bin')) {
        res.writeHead(200, { 'content-length': '100' })
        res.end(Buffer.alloc(100, 7))
      } else if (url.startsWith('/slow/') && listing) {
        xml(res, listXml([['p/big.bin', 1000]]))
      } else if (url.startsWith('/slow/p/big.bin')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '1000' })
        res.write(Buffer.alloc(10))
        stalled.add(res) // never finished: the download can only end by abort
      } else {
        res.writeHead(200, { 'content-length': '2' })
        res.end('ok')
      }
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(async () => {
    for (const r of stalled) r.destroy()
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
    fs.rmSync(tmp, { recursive: true, force: true })
  })

  it('follows ListObjectsV2 pagination', async () => {
    const p = await new S3Storage().prepare(
      {
        Source: { Type: 's3', Params: { Bucket: 'paged', Key: 'p/', Endpoint: endpoint } },
        Alias: '',
        Target: '/i',
      },
      path.join(tmp, 'paged'),
      signal,
    )
    assert.deepEqual(tree(p.hostPath), ['1.txt', '2.txt', '5.txt', 'sub/', 'sub/3.txt', 'sub/4.txt'])
    assert.equal(fs.readFileSync(path.join(p.hostPath, 'sub/4.txt'), 'utf8'), 'ok')
    const lists = requests.filter((r) => r.startsWith('GET /paged/?') && r.includes('list-type=2'))
    assert.equal(lists.length, 3)
  })

  it('refuses listed keys that would escape the input directory', async () => {
    const wd = path.join(tmp, 'evil')
    await assert.rejects(
      new S3Storage().prepare(
        {
          Source: { Type: 's3', Params: { Bucket: 'evil', Key: 'p/', Endpoint: endpoint } },
          Alias: '',
          Target: '/i',
        },
        wd,
        signal,
      ),
      /s3 input s3:\/\/evil\/p\/: object key "p\/\.\.\/\.\.\/escape\.txt" has "\." or "\.\." path segments/,
    )
    assert.deepEqual(fs.readdirSync(wd), [])
    assert.equal(fs.existsSync(path.join(tmp, 'escape.txt')), false)
  })

  it('enforces maxBytes on the bytes received, not only on the sizes listed', async () => {
    const wd = path.join(tmp, 'liar')
    await assert.rejects(
      new S3Storage({ maxBytes: 50 }).prepare(
        {
          Source: { Type: 's3', Params: { Bucket: 'liar', Key: 'p/', Endpoint: endpoint } },
          Alias: '',
          Target: '/i',
        },
        wd,
        signal,
      ),
      /s3 input s3:\/\/liar\/p\/: input size \d+ bytes exceeds the 50-byte limit/,
    )
    assert.deepEqual(fs.readdirSync(wd), [])
  })

  it('stops on abort and removes the partial download', async () => {
    const wd = path.join(tmp, 'slow')
    const ctrl = new AbortController()
    const started = Date.now()
    setTimeout(() => ctrl.abort(), 300)
    await assert.rejects(
      new S3Storage().prepare(
        {
          Source: { Type: 's3', Params: { Bucket: 'slow', Key: 'p/', Endpoint: endpoint } },
          Alias: '',
          Target: '/i',
        },
        wd,
        ctrl.signal,
      ),
      /s3 input s3:\/\/slow\/p\/: download aborted/,
    )
    assert.ok(Date.now() - started < 5000)
    assert.deepEqual(fs.readdirSync(wd), [])
  })
})
