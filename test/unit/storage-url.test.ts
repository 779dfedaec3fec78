import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { InputSource } from '../../src/models/job.js'
import {
  contentDispositionFileName,
  sanitizeFileName,
  UrlStorage,
  urlFileName,
  type UrlStorageOptions,
} from '../../src/storage/url/index.js'

interface TestServer {
  url(p: string): string
  /** "METHOD path" of every request received, in order. */
  requests: string[]
  close(): Promise<void>
}

async function serve(
  handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void,
): Promise<TestServer> {
  const requests: string[] = []
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`)
    handler(req, res, requests.length)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: (p) => `http://127.0.0.1:${port}${p}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

const quiet = { warn() {}, debug() {} }
const storage = (opts: UrlStorageOptions = {}) => new UrlStorage({ retryDelayMs: 5, logger: quiet, ...opts })

const input = (url: unknown, target = '/inputs', key = 'URL'): InputSource => ({
  Source: { Type: 'urlDownload', Params: { [key]: url } },
  Alias: '',
  Target: target,
})

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  const out: string[] = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...filesUnder(p))
    else out.push(p)
  }
  return out
}

const never = () => new AbortController().signal

let root: string
let seq = 0
const workDir = () => path.join(root, `w${++seq}`)

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-url-'))
})
after(() => fs.rmSync(root, { recursive: true, force: true }))

describe('UrlStorage.validate', () => {
  const s = storage()

  it('accepts http and https file URLs, the URL key in any case', () => {
    assert.equal(s.validate(input('http://example.com/a/main.wasm')), undefined)
    assert.equal(s.validate(input('https://example.com/data.csv?x=1')), undefined)
    assert.equal(s.validate(input('https://example.com/data.csv', '/in', 'url')), undefined)
    assert.deepEqual(s.types, ['urldownload'])
  })

  it('refuses a missing, non-string or unparseable URL', () => {
    assert.equal(s.validate(input(undefined)), 'urlDownload input: URL is required')
    assert.equal(s.validate(input('')), 'urlDownload input: URL is required')
    assert.equal(s.validate(input(42)), 'urlDownload input: URL must be a string')
    assert.match(s.validate(input('not a url'))!, /^urlDownload input: invalid URL "not a url"$/)
  })

  it('refuses schemes other than http and https', () => {
    assert.equal(
      s.validate(input('ftp://example.com/file.txt')),
      'urlDownload input: unsupported URL scheme "ftp:" (only http and https)',
    )
    assert.match(s.validate(input('file:///etc/passwd'))!, /unsupported URL scheme "file:"/)
  })

  it('refuses a URL that points at a directory', () => {
    for (const u of ['http://example.com/dir/', 'http://example.com', 'http://example.com/a/%2e%2e']) {
      assert.match(s.validate(input(u))!, /points at a directory; give a file URL$/, u)
    }
  })
})

describe('file names', () => {
  it('takes the last URL segment, percent-decoded, and neutralises separators', () => {
    assert.equal(urlFileName(new URL('http://h/a/hello%20world.txt')), 'hello world.txt')
    assert.equal(urlFileName(new URL('http://h/files/..%2F..%2Fetc%2Fpasswd')), '.._.._etc_passwd')
    assert.equal(urlFileName(new URL('http://h/a%5Cb')), 'a_b')
    assert.equal(urlFileName(new URL('http://h/x/%00evil')), '_evil')
    assert.equal(urlFileName(new URL('http://h/x/bad%E0%A4')), 'bad%E0%A4')
    assert.equal(urlFileName(new URL('http://h/x/')), undefined)
  })

  it('refuses dot names and trims overlong names, keeping the extension', () => {
    assert.equal(sanitizeFileName('..'), undefined)
    assert.equal(sanitizeFileName('.'), undefined)
    assert.equal(sanitizeFileName('  '), undefined)
    assert.equal(sanitizeFileName('...'), '...')
    const long = sanitizeFileName('é'.repeat(300) + '.wasm')!
    assert.ok(Buffer.byteLength(long) <= 255)
    assert.ok(long.endsWith('.wasm'))
  })

  it('reads Content-Disposition names, preferring filename* and dropping directories', () => {
    assert.equal(contentDispositionFileName('attachment; filename="report.csv"'), 'report.csv')
    assert.equal(contentDispositionFileName('attachment; filename=plain.txt; size=3'), 'plain.txt')
    assert.equal(contentDispositionFileName('attachment; filename="a;b \\"q\\".txt"'), 'a;b "q".txt')
    assert.equal(
      contentDispositionFileName(
        `attachment; filename="fallback.txt"; filename*=UTF-8''na%C3%AFve%20file.txt`,
      ),
      'naïve file.txt',
    )
    assert.equal(contentDispositionFileName('attachment; filename="../../evil.sh"'), 'evil.sh')
    assert.equal(contentDispositionFileName('attachment; filename=..\\..\\win.bat'), 'win.bat')
    assert.equal(contentDispositionFileName('attachment; filename=".."'), undefined)
    assert.equal(contentDispositionFileName('inline'), undefined)
    assert.equal(contentDispositionFileName(undefined), undefined)
  })
})

describe('UrlStorage.prepare', () => {
  let srv: TestServer
  // Per-test behaviour, keyed by path, so one server serves every case.
  const routes = new Map<string, (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void>()
  const hits = (p: string) => srv.requests.filter((r) => r.endsWith(` ${p}`)).length

  before(async () => {
    srv = await serve((req, res, n) => {
      const route = routes.get(new URL(req.url!, 'http://x').pathname)
      if (route) return route(req, res, n)
      res.writeHead(404).end('no such thing')
    })
  })
  after(() => srv.close())

  it('downloads the file and mounts it at Target/<last segment>', async () => {
    routes.set('/files/data.txt', (_req, res) =>
      res.writeHead(200, { 'content-type': 'text/plain' }).end('hello, world\n'),
    )
    const s = storage()
    const wd = workDir()
    const p = await s.prepare(input(srv.url('/files/data.txt?v=2'), '/inputs'), wd, never())
    assert.equal(p.target, '/inputs/data.txt')
    assert.equal(p.readOnly, true)
    assert.equal(path.basename(p.hostPath), 'data.txt')
    assert.ok(p.hostPath.startsWith(wd + path.sep))
    assert.equal(fs.readFileSync(p.hostPath, 'utf8'), 'hello, world\n')
    await s.cleanup(p)
    assert.equal(fs.existsSync(p.hostPath), false)
    assert.deepEqual(filesUnder(wd), [])
  })

  it('names the file from Content-Disposition after a redirect', async () => {
    routes.set('/download/latest', (_req, res) => res.writeHead(302, { location: '/blobs/8f3a?sig=1' }).end())
    routes.set('/blobs/8f3a', (_req, res) =>
      res.writeHead(200, { 'content-disposition': 'attachment; filename="report.csv"' }).end('a,b\n1,2\n'),
    )
    const s = storage()
    const p = await s.prepare(input(srv.url('/download/latest'), '/data'), workDir(), never())
    assert.equal(p.target, '/data/report.csv')
    assert.equal(fs.readFileSync(p.hostPath, 'utf8'), 'a,b\n1,2\n')
    await s.cleanup(p)
  })

  it('keeps the URL name when there was no redirect, and strips paths from Content-Disposition', async () => {
    routes.set('/plain/data.bin', (_req, res) =>
      res.writeHead(200, { 'content-disposition': 'attachment; filename="other.txt"' }).end('x'),
    )
    routes.set('/evil', (_req, res) => res.writeHead(301, { location: '/evil-target' }).end())
    routes.set('/evil-target', (_req, res) =>
      res.writeHead(200, { 'content-disposition': 'attachment; filename="../../../evil.sh"' }).end('y'),
    )
    const s = storage()
    const a = await s.prepare(input(srv.url('/plain/data.bin')), workDir(), never())
    assert.equal(a.target, '/inputs/data.bin')
    const wd = workDir()
    const b = await s.prepare(input(srv.url('/evil')), wd, never())
    assert.equal(b.target, '/inputs/evil.sh')
    assert.ok(b.hostPath.startsWith(wd + path.sep))
    await s.cleanup(a)
    await s.cleanup(b)
  })

  it('keeps an encoded-slash name inside its directory', async () => {
    routes.set('/files/..%2F..%2Fescape.txt', (_req, res) => res.writeHead(200).end('z'))
    const s = storage()
    const wd = workDir()
    const p = await s.prepare(input(srv.url('/files/..%2F..%2Fescape.txt')), wd, never())
    assert.equal(path.basename(p.hostPath), '.._.._escape.txt')
    assert.equal(path.dirname(path.dirname(p.hostPath)), wd)
    assert.equal(p.target, '/inputs/.._.._escape.txt')
    await s.cleanup(p)
  })

  it('falls back to Content-Disposition, then a UUID, when the URL gives no usable name', async () => {
    // A blank segment: not a directory URL, but no name either once decoded.
    routes.set('/blank/%20', (_req, res) => res.writeHead(200).end('u'))
    routes.set('/named/%20', (_req, res) =>
      res.writeHead(200, { 'content-disposition': 'attachment; filename="from-server.txt"' }).end('v'),
    )
    const s = storage()
    const a = await s.prepare(input(srv.url('/blank/%20')), workDir(), never())
    assert.match(
      path.basename(a.hostPath),
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    )
    assert.equal(a.target, `/inputs/${path.basename(a.hostPath)}`)
    const b = await s.prepare(input(srv.url('/named/%20')), workDir(), never())
    assert.equal(b.target, '/inputs/from-server.txt')
    await s.cleanup(a)
    await s.cleanup(b)
  })

  it('refuses a redirect loop and a chain longer than 10', async () => {
    routes.set('/loop-a', (_req, res) => res.writeHead(302, { location: '/loop-b' }).end())
    routes.set('/loop-b', (_req, res) => res.writeHead(307, { location: srv.url('/loop-a') }).end())
    for (let i = 0; i < 12; i++) {
      routes.set(`/chain/${i}`, (_req, res) => res.writeHead(302, { location: `/chain/${i + 1}` }).end())
    }
    routes.set('/chain/12', (_req, res) => res.writeHead(200).end('end'))
    const s = storage()
    const wd = workDir()
    await assert.rejects(s.prepare(input(srv.url('/loop-a')), wd, never()), (err: Error) => {
      assert.match(err.message, /^urlDownload input http:\/\/127\.0\.0\.1:\d+\/loop-a: too many redirects/)
      return true
    })
    assert.equal(hits('/loop-a'), 1, 'a loop is not retried')
    await assert.rejects(
      s.prepare(input(srv.url('/chain/0')), wd, never()),
      /too many redirects \(more than 10\)/,
    )
    assert.deepEqual(filesUnder(wd), [])
    // Exactly ten redirects is allowed.
    const p = await s.prepare(input(srv.url('/chain/2')), wd, never())
    assert.equal(fs.readFileSync(p.hostPath, 'utf8'), 'end')
    await s.cleanup(p)
  })

  it('fails on 404 naming the status, without retrying', async () => {
    routes.set('/missing.txt', (_req, res) => res.writeHead(404).end('nope'))
    const s = storage({ maxRetries: 3 })
    const wd = workDir()
    await assert.rejects(
      s.prepare(input(srv.url('/missing.txt')), wd, never()),
      new RegExp(
        `^Error: urlDownload input ${srv.url('/missing.txt').replace(/[.?]/g, '\\$&')}: server answered 404 Not Found$`,
      ),
    )
    assert.equal(hits('/missing.txt'), 1)
    assert.deepEqual(filesUnder(wd), [])
  })

  it('retries a 500 and succeeds', async () => {
    routes.set('/flaky.txt', (_req, res, n) => {
      const mine = srv.requests.slice(0, n).filter((r) => r.endsWith(' /flaky.txt')).length
      if (mine === 1) res.writeHead(500).end('boom')
      else res.writeHead(200).end('second time lucky')
    })
    const s = storage({ maxRetries: 3 })
    const p = await s.prepare(input(srv.url('/flaky.txt')), workDir(), never())
    assert.equal(fs.readFileSync(p.hostPath, 'utf8'), 'second time lucky')
    assert.equal(hits('/flaky.txt'), 2)
    await s.cleanup(p)
  })

  it('gives up after maxRetries retries of a 503', async () => {
    routes.set('/down.txt', (_req, res) => res.writeHead(503).end())
    const s = storage({ maxRetries: 2 })
    await assert.rejects(
      s.prepare(input(srv.url('/down.txt')), workDir(), never()),
      /server answered 503 Service Unavailable \(after 3 attempts\)$/,
    )
    assert.equal(hits('/down.txt'), 3)
  })

  it('retries a connection dropped mid-body and leaves no partial file behind', async () => {
    let partialSeen = false
    const wd = workDir()
    routes.set('/cut.bin', (_req, res, n) => {
      const mine = srv.requests.slice(0, n).filter((r) => r.endsWith(' /cut.bin')).length
      res.writeHead(200, { 'content-length': '1000' })
      if (mine === 1) {
        res.write(Buffer.alloc(400, 1))
        setTimeout(() => {
          partialSeen = filesUnder(wd).length === 1
          res.destroy()
        }, 50)
      } else res.end(Buffer.alloc(1000, 2))
    })
    const s = storage()
    const p = await s.prepare(input(srv.url('/cut.bin')), wd, never())
    assert.ok(partialSeen, 'the first attempt had started writing')
    assert.deepEqual(fs.readFileSync(p.hostPath), Buffer.alloc(1000, 2))
    assert.deepEqual(filesUnder(wd), [p.hostPath])
    assert.equal(hits('/cut.bin'), 2)
    await s.cleanup(p)
  })

  it('enforces the size cap from Content-Length before downloading', async () => {
    routes.set('/big-declared.bin', (_req, res) => {
      res.writeHead(200, { 'content-length': '5000' })
      res.write(Buffer.alloc(100))
    })
    const s = storage({ maxBytes: 1000 })
    const wd = workDir()
    await assert.rejects(
      s.prepare(input(srv.url('/big-declared.bin')), wd, never()),
      /: larger than the 1000 byte limit \(Content-Length 5000\)$/,
    )
    assert.equal(hits('/big-declared.bin'), 1, 'a size refusal is not retried')
    assert.deepEqual(filesUnder(wd), [])
  })

  it('enforces the size cap while streaming a chunked body', async () => {
    routes.set('/big-chunked.bin', async (_req, res) => {
      res.writeHead(200) // no Content-Length: chunked
      for (let i = 0; i < 20 && !res.destroyed; i++) {
        res.write(Buffer.alloc(64 * 1024, i))
        await new Promise((r) => setTimeout(r, 5))
      }
      res.end()
    })
    const s = storage({ maxBytes: 200_000 })
    const wd = workDir()
    await assert.rejects(
      s.prepare(input(srv.url('/big-chunked.bin')), wd, never()),
      /big-chunked\.bin: larger than the 200000 byte limit$/,
    )
    assert.deepEqual(filesUnder(wd), [])
    assert.equal(hits('/big-chunked.bin'), 1)
  })

  it('times out a slow server after readTimeout', async () => {
    routes.set('/slow.bin', (_req, res) => {
      res.writeHead(200, { 'content-length': '10' })
      res.write('abc') // and then nothing
    })
    const s = storage({ readTimeoutMs: 300 })
    const wd = workDir()
    const t0 = Date.now()
    await assert.rejects(
      s.prepare(input(srv.url('/slow.bin')), wd, never()),
      /slow\.bin: timed out after 0\.3s \(InputSources\.ReadTimeout\)$/,
    )
    assert.ok(Date.now() - t0 < 3000)
    assert.deepEqual(filesUnder(wd), [])
  })

  it('stops when the signal is aborted', async () => {
    routes.set('/stall.bin', (_req, res) => {
      res.writeHead(200)
      res.write('partial')
    })
    const s = storage()
    const wd = workDir()
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 100)
    const t0 = Date.now()
    await assert.rejects(s.prepare(input(srv.url('/stall.bin')), wd, ac.signal), { name: 'AbortError' })
    assert.ok(Date.now() - t0 < 3000)
    assert.deepEqual(filesUnder(wd), [])
    // Already aborted: nothing is requested.
    const before = hits('/stall.bin')
    await assert.rejects(s.prepare(input(srv.url('/stall.bin')), wd, ac.signal), { name: 'AbortError' })
    assert.equal(hits('/stall.bin'), before)
  })

  it('reports an unreachable host clearly', async () => {
    const probe = http.createServer()
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
    const { port } = probe.address() as AddressInfo
    await new Promise<void>((r) => probe.close(() => r()))
    const url = `http://127.0.0.1:${port}/file.txt`
    const s = storage({ maxRetries: 1 })
    await assert.rejects(s.prepare(input(url), workDir(), never()), (err: Error) => {
      assert.equal(
        err.message,
        `urlDownload input ${url}: cannot connect to 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port} (after 2 attempts)`,
      )
      return true
    })
  })

  it('estimates the size with a HEAD, following redirects', async () => {
    routes.set('/sized', (_req, res) => res.writeHead(302, { location: '/sized.bin' }).end())
    routes.set('/sized.bin', (req, res) => {
      res.writeHead(200, { 'content-length': '123456' })
      res.end(req.method === 'HEAD' ? undefined : Buffer.alloc(123456))
    })
    routes.set('/unsized.bin', (_req, res) => res.writeHead(200).end())
    const s = storage()
    const before = srv.requests.length
    assert.equal(await s.estimateSize(input(srv.url('/sized'))), 123456)
    assert.deepEqual(srv.requests.slice(before), ['HEAD /sized', 'HEAD /sized.bin'])
    assert.equal(await s.estimateSize(input(srv.url('/missing'))), undefined)
    assert.equal(await s.estimateSize(input('ftp://x/y')), undefined)
    assert.equal(await s.estimateSize(input('http://127.0.0.1:1/nothing')), undefined)
  })

  it('streams a large file with bounded memory', async () => {
    // Unused chunks linger until V8 next collects external memory, which adds a constant
    // ~30-40 MiB to RSS however large the file; 128 MiB keeps that slack well apart from
    // what holding the body in memory would cost (the whole size, or twice it).
    const size = 128 * 1024 * 1024
    const chunk = 64 * 1024
    // A fixed pool of distinct chunks: the server itself makes no garbage to blur the reading.
    const pool = Array.from({ length: 7 }, (_, k) => Buffer.alloc(chunk, 17 * k + 3))
    const expected = createHash('sha256')
    for (let i = 0; i < size / chunk; i++) expected.update(pool[i % pool.length])
    routes.set('/large.bin', (_req, res) => {
      res.writeHead(200, { 'content-length': String(size) })
      let i = 0
      const pump = () => {
        while (i < size / chunk) {
          if (!res.write(pool[i++ % pool.length])) return void res.once('drain', pump)
        }
        res.end()
      }
      pump()
    })
    const s = storage()
    const base = process.memoryUsage.rss()
    let peak = base
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5)
    let p
    try {
      p = await s.prepare(input(srv.url('/large.bin')), workDir(), never())
    } finally {
      clearInterval(sampler)
    }
    peak = Math.max(peak, process.memoryUsage.rss())
    assert.equal(fs.statSync(p.hostPath).size, size)
    const got = createHash('sha256')
    for await (const c of fs.createReadStream(p.hostPath)) got.update(c as Buffer)
    assert.equal(got.digest('hex'), expected.digest('hex'))
    await s.cleanup(p)
    const grewMiB = (peak - base) / 1024 / 1024
    assert.ok(grewMiB < 64, `RSS grew by ${grewMiB.toFixed(1)} MiB while downloading 128 MiB`)
  })
})
