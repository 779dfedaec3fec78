import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { after, afterEach, before, describe, it } from 'node:test'
import { gzipSync } from 'node:zlib'
import * as tar from 'tar'
import type { PublishRequest } from '../../src/publishers/types.js'
import { extractResultsArchive, LocalPublisher } from '../../src/publishers/local/index.js'
import { createResultsArchive } from '../../src/publishers/local/archive.js'
import { fileNameFromUrl } from '../../src/publishers/local/server.js'

const signal = new AbortController().signal

interface Got {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
}

/** A raw GET: fetch() would normalise `..` segments away before they reach the server. */
function get(url: string, rawPath?: string, method = 'GET'): Promise<Got> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: rawPath ?? u.pathname, method, agent: false },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end()
  })
}

/** Every file, dir and link under `dir`, with contents, for byte-for-byte comparison. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name
      const st = fs.lstatSync(path.join(dir, r))
      if (st.isSymbolicLink()) out[r] = `link:${fs.readlinkSync(path.join(dir, r))}`
      else if (st.isDirectory()) {
        out[r] = 'dir'
        walk(r)
      } else out[r] = `file:${fs.readFileSync(path.join(dir, r)).toString('base64')}`
    }
  }
  walk('')
  return out
}

function makeResults(dir: string): void {
  fs.mkdirSync(path.join(dir, 'outputs', 'nested', 'deeper'), { recursive: true })
  fs.mkdirSync(path.join(dir, 'empty'))
  fs.writeFileSync(path.join(dir, 'stdout'), 'hello\nwörld\n')
  fs.writeFileSync(path.join(dir, 'stderr'), '')
  fs.writeFileSync(path.join(dir, 'exitCode'), '0')
  fs.writeFileSync(
    path.join(dir, 'outputs', 'result.bin'),
    Buffer.from(Array.from({ length: 70000 }, (_, i) => i % 251)),
  )
  fs.writeFileSync(path.join(dir, 'outputs', 'nested', 'deeper', 'x.txt'), 'x')
  fs.symlinkSync('../stdout', path.join(dir, 'outputs', 'stdout-link'))
}

describe('results archives', () => {
  let tmp: string
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-test-'))
  })
  after(() => fs.rmSync(tmp, { recursive: true, force: true }))

  it('uses relative entry names, root first, well-known files next', async () => {
    const results = path.join(tmp, 'r1')
    makeResults(results)
    const file = path.join(tmp, 'r1.tar.gz')
    await createResultsArchive(results, file)
    const names: string[] = []
    await tar.t({ file, onReadEntry: (e) => names.push(e.path) })
    assert.deepEqual(names, [
      './',
      'stdout',
      'stderr',
      'exitCode',
      'empty/',
      'outputs/',
      'outputs/nested/',
      'outputs/nested/deeper/',
      'outputs/nested/deeper/x.txt',
      'outputs/result.bin',
      'outputs/stdout-link',
    ])
  })

  it('does not follow symlinks that point outside the results', async () => {
    const results = path.join(tmp, 'r2')
    fs.mkdirSync(results)
    fs.writeFileSync(path.join(results, 'stdout'), '')
    fs.symlinkSync('/etc/passwd', path.join(results, 'passwd'))
    const file = path.join(tmp, 'r2.tar.gz')
    await createResultsArchive(results, file)
    const entries: [string, string, string | undefined][] = []
    await tar.t({ file, onReadEntry: (e) => entries.push([e.path, e.type, e.linkpath]) })
    assert.deepEqual(entries.at(-1), ['passwd', 'SymbolicLink', '/etc/passwd'])
    // ...and extraction refuses such a link rather than recreating it.
    await assert.rejects(
      extractResultsArchive(file, path.join(tmp, 'r2-out')),
      /results archive: unsafe archive entry: .*absolute path/,
    )
  })

  it('refuses traversal entries on extraction', async () => {
    const header = new tar.Header({ path: '../evil', type: 'File', size: 1, mode: 0o644, mtime: new Date(0) })
    const block = Buffer.alloc(512)
    header.encode(block, 0)
    const body = Buffer.alloc(512)
    body.write('x')
    const file = path.join(tmp, 'evil.tar.gz')
    fs.writeFileSync(file, gzipSync(Buffer.concat([block, body, Buffer.alloc(1024)])))
    const dest = path.join(tmp, 'evil-out', 'inner')
    await assert.rejects(extractResultsArchive(file, dest), /path contains \.\./)
    assert.equal(fs.existsSync(path.join(tmp, 'evil-out', 'evil')), false)
  })
})

describe('LocalPublisher', () => {
  let tmp: string
  let publisher: LocalPublisher | undefined
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'local-pub-test-'))
  })
  afterEach(async () => {
    await publisher?.stop()
    publisher = undefined
  })
  after(() => fs.rmSync(tmp, { recursive: true, force: true }))

  const request = (executionId: string, resultsDir: string): PublishRequest => ({
    executionId,
    jobId: 'j-1',
    nodeId: 'n-1',
    spec: { Type: 'local' },
    resultsDir,
  })

  it('publishes, serves and round-trips a results directory byte for byte', async () => {
    const storageDir = path.join(tmp, 'store1')
    publisher = new LocalPublisher({ address: '127.0.0.1', port: 0, storageDir })
    await publisher.start()
    const port = Number(new URL(publisher.url()).port)
    assert.ok(port > 0)

    const results = path.join(tmp, 'results1')
    makeResults(results)
    const id = 'e-0123abcd-4567-89ef-0123-456789abcdef'
    const published = await publisher.publish(request(id, results), signal)
    assert.deepEqual(published, {
      Type: 'urlDownload',
      Params: { URL: `http://127.0.0.1:${port}/${id}.tar.gz` },
    })
    assert.ok(fs.statSync(path.join(storageDir, `${id}.tar.gz`)).isFile())
    assert.deepEqual(fs.readdirSync(storageDir), [`${id}.tar.gz`], 'no partial files left behind')

    const res = await get(published.Params!.URL as string)
    assert.equal(res.status, 200)
    assert.equal(res.headers['content-type'], 'application/gzip')
    assert.equal(Number(res.headers['content-length']), res.body.length)
    assert.deepEqual(res.body, fs.readFileSync(path.join(storageDir, `${id}.tar.gz`)))

    const downloaded = path.join(tmp, 'dl.tar.gz')
    fs.writeFileSync(downloaded, res.body)
    const out = path.join(tmp, 'extracted1')
    await extractResultsArchive(downloaded, out)
    assert.deepEqual(snapshot(out), snapshot(results))

    const head = await get(published.Params!.URL as string, undefined, 'HEAD')
    assert.equal(head.status, 200)
    assert.equal(head.headers['content-length'], res.headers['content-length'])
    assert.equal(head.body.length, 0)
  })

  it('answers 404 for unknown files, directories, dot-files, symlinks and traversal', async () => {
    const storageDir = path.join(tmp, 'store2')
    fs.mkdirSync(path.join(storageDir, 'subdir'), { recursive: true })
    fs.writeFileSync(path.join(storageDir, 'subdir', 'inner.tar.gz'), 'x')
    fs.writeFileSync(path.join(storageDir, '.hidden.tar.gz'), 'x')
    fs.writeFileSync(path.join(tmp, 'outside.tar.gz'), 'secret')
    fs.symlinkSync(path.join(tmp, 'outside.tar.gz'), path.join(storageDir, 'link.tar.gz'))
    fs.writeFileSync(path.join(storageDir, 'ok.bin'), 'ok')
    publisher = new LocalPublisher({ address: '127.0.0.1', port: 0, storageDir })
    await publisher.start()
    const base = publisher.url()

    const ok = await get(`${base}/ok.bin`)
    assert.equal(ok.status, 200)
    assert.equal(ok.headers['content-type'], 'application/octet-stream')
    assert.equal(ok.body.toString(), 'ok')

    for (const p of [
      '/',
      '/missing.tar.gz',
      '/subdir',
      '/subdir/inner.tar.gz',
      '/subdir%2Finner.tar.gz',
      '/.hidden.tar.gz',
      '/link.tar.gz',
      '/../outside.tar.gz',
      '/%2e%2e%2foutside.tar.gz',
      '/..%2Foutside.tar.gz',
      '/..',
      '/%E0%A4%A',
      `/${encodeURIComponent(path.join(tmp, 'outside.tar.gz'))}`,
    ]) {
      const res = await get(base, p)
      assert.equal(res.status, 404, p)
      assert.doesNotMatch(res.body.toString(), /secret/)
    }
    const post = await get(`${base}/ok.bin`, undefined, 'POST')
    assert.equal(post.status, 405)
  })

  it('uses the real port in URLs when port 0 was configured, and publishes before start()', async () => {
    const storageDir = path.join(tmp, 'store3')
    publisher = new LocalPublisher({ address: '127.0.0.1', port: 0, storageDir })
    assert.throws(() => publisher!.url(), /not started/)
    const results = path.join(tmp, 'results3')
    fs.mkdirSync(results)
    fs.writeFileSync(path.join(results, 'stdout'), 'hi')
    const published = await publisher.publish(request('e-3', results), signal)
    const url = new URL(published.Params!.URL as string)
    assert.notEqual(url.port, '0')
    assert.equal(url.port, new URL(publisher.url()).port)
    assert.equal((await get(url.href)).status, 200)
  })

  it('stops cleanly with an idle keep-alive connection open, and can restart', async () => {
    const storageDir = path.join(tmp, 'store4')
    publisher = new LocalPublisher({ address: '127.0.0.1', port: 0, storageDir })
    await publisher.start()
    const agent = new http.Agent({ keepAlive: true })
    await new Promise<void>((resolve, reject) => {
      http
        .get(`${publisher!.url()}/nothing`, { agent }, (res) => {
          res.resume()
          res.on('end', () => resolve())
        })
        .on('error', reject)
    })
    const t0 = Date.now()
    await publisher.stop()
    assert.ok(Date.now() - t0 < 1000, 'stop() must not wait for keep-alive sockets')
    agent.destroy()
    await publisher.stop()
    await publisher.start()
    assert.equal((await get(`${publisher.url()}/nothing`)).status, 404)
  })

  it('refuses execution IDs that are not plain file names', async () => {
    publisher = new LocalPublisher({ address: '127.0.0.1', port: 0, storageDir: path.join(tmp, 'store5') })
    for (const id of ['../x', 'a/b', '.hidden', '']) {
      await assert.rejects(publisher.publish(request(id, tmp), signal), /invalid execution ID/)
    }
  })

  it('brackets IPv6 addresses in URLs', async () => {
    publisher = new LocalPublisher({ address: '::1', port: 0, storageDir: path.join(tmp, 'store6') })
    await publisher.start()
    assert.match(publisher.url(), /^http:\/\/\[::1\]:\d+$/)
  })

  it('reports a port already in use', async () => {
    const blocker = http.createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    const port = (blocker.address() as { port: number }).port
    try {
      publisher = new LocalPublisher({ address: '127.0.0.1', port, storageDir: path.join(tmp, 'store7') })
      await assert.rejects(publisher.start(), /local publisher: cannot listen on 127\.0\.0\.1:\d+/)
      assert.equal(publisher.url(), `http://127.0.0.1:${port}`)
    } finally {
      await new Promise((r) => blocker.close(r))
    }
  })
})

describe('fileNameFromUrl', () => {
  it('accepts one plain segment only', () => {
    assert.equal(fileNameFromUrl('/e-1.tar.gz'), 'e-1.tar.gz')
    assert.equal(fileNameFromUrl('/e-1.tar.gz?x=1'), 'e-1.tar.gz')
    assert.equal(fileNameFromUrl('/a%20b'), 'a b')
    for (const u of [
      '',
      '/',
      'x',
      '/a/b',
      '/..',
      '/.x',
      '/a%2Fb',
      '/a%5Cb',
      '/a%00b',
      '/%zz',
      'http://h/x',
    ]) {
      assert.equal(fileNameFromUrl(u), undefined, u)
    }
  })
})
