import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { gzipSync } from 'node:zlib'
import * as tar from 'tar'
import type { InputSource } from '../../src/models/job.js'
import { InlineStorage, parseDataUrl } from '../../src/storage/inline/index.js'

interface TarEntry {
  path: string
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'FIFO'
  body?: string
  linkpath?: string
}

/** Builds a tar.gz by hand: node-tar's create() sanitises paths, and these tests need bad ones. */
function tarball(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = []
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '')
    const type = e.type ?? 'File'
    const header = new tar.Header({
      path: e.path,
      type,
      size: type === 'File' ? body.length : 0,
      mode: type === 'Directory' ? 0o755 : 0o644,
      mtime: new Date(0),
      linkpath: e.linkpath,
    })
    const block = Buffer.alloc(512)
    header.encode(block, 0)
    blocks.push(block)
    if (type === 'File') blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512))
  }
  blocks.push(Buffer.alloc(1024))
  return gzipSync(Buffer.concat(blocks))
}

const input = (url: unknown, target = '/inputs/data'): InputSource => ({
  Source: { Type: 'inline', Params: { URL: url } },
  Alias: '',
  Target: target,
})

const gzUrl = (buf: Buffer) => `data:application/gzip;base64,${buf.toString('base64')}`

describe('parseDataUrl', () => {
  it('decodes standard base64 with a charset parameter', () => {
    const d = parseDataUrl('data:text/plain;charset=utf-8;base64,aGVsbG8K')
    assert.equal(d.mediaType, 'text/plain')
    assert.equal(d.params.charset, 'utf-8')
    assert.equal(d.data.toString(), 'hello\n')
  })

  it('decodes URL-safe base64 without padding', () => {
    const bytes = Buffer.from([0xfb, 0xff, 0xfe, 0x3e, 0x3f])
    const urlSafe = bytes.toString('base64url')
    assert.match(urlSafe, /[-_]/)
    assert.doesNotMatch(urlSafe, /=/)
    assert.deepEqual(parseDataUrl(`data:application/octet-stream;base64,${urlSafe}`).data, bytes)
  })

  it('decodes percent-encoded text and defaults the media type', () => {
    const d = parseDataUrl('data:,hello%20world%21%0A')
    assert.equal(d.mediaType, 'text/plain')
    assert.equal(d.data.toString(), 'hello world!\n')
  })

  it('names the problem in errors', () => {
    assert.throws(() => parseDataUrl('http://example.com/x'), /inline input: URL must be a data: URL/)
    assert.throws(() => parseDataUrl('data:text/plain;base64'), /missing ','/)
    assert.throws(() => parseDataUrl('data:text/plain;base64,aGV$sbG8'), /invalid base64/)
    assert.throws(() => parseDataUrl('data:text/plain;base64,aGVsb'), /invalid base64.*truncated/)
    assert.throws(() => parseDataUrl('data:text/plain;base64,aG=Vs'), /invalid base64/)
    assert.throws(() => parseDataUrl('data:,100%zz'), /bad percent-encoding/)
    assert.throws(() => parseDataUrl('data:notatype;base64,aGVsbG8K'), /invalid media type/)
  })

  it('enforces the decoded size limit before decoding', () => {
    const b64 = Buffer.alloc(100).toString('base64')
    assert.equal(parseDataUrl(`data:;base64,${b64}`, 100).data.length, 100)
    assert.throws(() => parseDataUrl(`data:;base64,${b64}`, 99), /exceeds the 99-byte inline limit/)
    assert.throws(() => parseDataUrl('data:,' + 'x'.repeat(50), 49), /exceeds/)
  })
})

describe('InlineStorage', () => {
  let work: string
  const storage = new InlineStorage()
  const signal = new AbortController().signal

  before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'inline-test-'))
  })
  after(() => fs.rmSync(work, { recursive: true, force: true }))

  it('declares its type', async () => {
    assert.deepEqual([...storage.types], ['inline'])
    assert.equal(await storage.isInstalled(), true)
  })

  it('writes plain text to a single file', async () => {
    const p = await storage.prepare(
      input('data:text/plain;base64,aGVsbG8K', '/inputs/hello.txt'),
      work,
      signal,
    )
    assert.equal(p.target, '/inputs/hello.txt')
    assert.equal(p.readOnly, true)
    assert.ok(p.hostPath.startsWith(work + path.sep))
    assert.equal(path.basename(p.hostPath), 'hello.txt')
    assert.equal(fs.readFileSync(p.hostPath, 'utf8'), 'hello\n')
    await storage.cleanup(p)
    assert.equal(fs.existsSync(p.hostPath), false)
  })

  it('accepts URL-safe base64 and reads Params.URL case-insensitively', async () => {
    const bytes = Buffer.from([0xfb, 0xef, 0xff, 0x00, 0x01])
    const src: InputSource = {
      Source: {
        Type: 'inline',
        Params: { url: `data:application/octet-stream;base64,${bytes.toString('base64url')}` },
      },
      Alias: '',
      Target: '/bin.dat',
    }
    const p = await storage.prepare(src, work, signal)
    assert.deepEqual(fs.readFileSync(p.hostPath), bytes)
    await storage.cleanup(p)
  })

  it('extracts a gzipped tarball with nested directories', async () => {
    const tgz = tarball([
      { path: './', type: 'Directory' },
      { path: 'a/', type: 'Directory' },
      { path: 'a/b/', type: 'Directory' },
      { path: 'a/b/deep.txt', body: 'deep' },
      { path: 'top.txt', body: 'top' },
      { path: 'c/implicit.txt', body: 'implicit parent' },
      { path: 'a/link', type: 'SymbolicLink', linkpath: '../top.txt' },
    ])
    const p = await storage.prepare(input(gzUrl(tgz)), work, signal)
    assert.ok(fs.statSync(p.hostPath).isDirectory())
    assert.equal(fs.readFileSync(path.join(p.hostPath, 'a/b/deep.txt'), 'utf8'), 'deep')
    assert.equal(fs.readFileSync(path.join(p.hostPath, 'top.txt'), 'utf8'), 'top')
    assert.equal(fs.readFileSync(path.join(p.hostPath, 'c/implicit.txt'), 'utf8'), 'implicit parent')
    assert.equal(fs.readlinkSync(path.join(p.hostPath, 'a/link')), '../top.txt')
    assert.deepEqual(fs.readdirSync(p.hostPath).sort(), ['a', 'c', 'top.txt'])
    await storage.cleanup(p)
    assert.equal(fs.existsSync(p.hostPath), false)
  })

  it('treats application/x-gzip the same', async () => {
    const tgz = tarball([{ path: 'f', body: 'x' }])
    const p = await storage.prepare(
      input(`data:application/x-gzip;base64,${tgz.toString('base64')}`),
      work,
      signal,
    )
    assert.equal(fs.readFileSync(path.join(p.hostPath, 'f'), 'utf8'), 'x')
    await storage.cleanup(p)
  })

  const malicious: [string, TarEntry[], RegExp][] = [
    [
      'a ../ entry',
      [
        { path: 'ok.txt', body: 'ok' },
        { path: '../escape.txt', body: 'pwned' },
      ],
      /path contains \.\./,
    ],
    ['a nested ../ entry', [{ path: 'a/../../escape.txt', body: 'pwned' }], /path contains \.\./],
    ['an absolute path', [{ path: '/tmp/escape.txt', body: 'pwned' }], /absolute path/],
    [
      'a symlink to an absolute path',
      [{ path: 'etc', type: 'SymbolicLink', linkpath: '/etc' }],
      /absolute path/,
    ],
    ['a symlink climbing out', [{ path: 'a/up', type: 'SymbolicLink', linkpath: '../../x' }], /outside/],
    [
      'a symlink stepping out through another symlink',
      [
        { path: 'x', type: 'SymbolicLink', linkpath: '.' },
        { path: 'y', type: 'SymbolicLink', linkpath: 'x/..' },
      ],
      /\.\. after a name/,
    ],
    ['a hard link to a host file', [{ path: 'h', type: 'Link', linkpath: '../../etc/passwd' }], /hard link/],
    [
      'a hard link to a file not in the archive',
      [{ path: 'h', type: 'Link', linkpath: 'nope' }],
      /hard link target/,
    ],
    [
      'a symlink replacing a directory',
      [
        { path: 'd/f', body: 'x' },
        { path: 'd', type: 'SymbolicLink', linkpath: 'e' },
      ],
      /duplicate entry/,
    ],
    [
      'an entry below a symlink',
      [
        { path: 'l', type: 'SymbolicLink', linkpath: 'sub' },
        { path: 'l/f', body: 'x' },
      ],
      /below a non-directory/,
    ],
    ['a FIFO', [{ path: 'p', type: 'FIFO' }], /unsupported entry type FIFO/],
  ]
  for (const [what, entries, reason] of malicious) {
    it(`refuses a tarball with ${what}, extracting nothing`, async () => {
      const before = fs.readdirSync(work)
      await assert.rejects(storage.prepare(input(gzUrl(tarball(entries))), work, signal), (err: Error) => {
        assert.match(err.message, /^inline input: unsafe archive entry: /)
        assert.match(err.message, reason)
        return true
      })
      // Nothing is left behind, and nothing escaped next to the work dir.
      assert.deepEqual(fs.readdirSync(work), before)
      assert.equal(fs.existsSync(path.join(path.dirname(work), 'escape.txt')), false)
    })
  }

  it('refuses gzip data that is not a tarball', async () => {
    await assert.rejects(
      storage.prepare(input(gzUrl(gzipSync(Buffer.from('just text')))), work, signal),
      /inline input: not a valid tar archive/,
    )
    await assert.rejects(
      storage.prepare(
        input(`data:application/gzip;base64,${Buffer.from('nope').toString('base64')}`),
        work,
        signal,
      ),
      /inline input: not a valid tar archive/,
    )
  })

  it('caps the extracted size', async () => {
    const small = new InlineStorage({ maxExtractedBytes: 10 })
    const tgz = tarball([
      { path: 'a', body: '123456' },
      { path: 'b', body: '123456' },
    ])
    await assert.rejects(small.prepare(input(gzUrl(tgz)), work, signal), /exceeds the 10-byte limit/)
  })

  it('reports bad URLs from prepare() and validate()', async () => {
    await assert.rejects(
      storage.prepare(input('https://x/y'), work, signal),
      /inline input: URL must be a data: URL/,
    )
    await assert.rejects(storage.prepare(input(undefined), work, signal), /inline input: URL is required/)
    await assert.rejects(storage.prepare(input(42), work, signal), /inline input: URL must be a string/)
    await assert.rejects(storage.prepare(input('data:;base64,!!!!'), work, signal), /invalid base64/)
    assert.match(storage.validate(input('file:///etc/passwd')) ?? '', /must be a data: URL/)
    assert.equal(storage.validate(input('data:,ok')), undefined)
    const tiny = new InlineStorage({ maxBytes: 3 })
    assert.match(tiny.validate(input('data:,four')) ?? '', /exceeds the 3-byte inline limit/)
  })

  it('stops when the signal is aborted', async () => {
    const ac = new AbortController()
    ac.abort(new Error('cancelled'))
    await assert.rejects(storage.prepare(input('data:,x'), work, ac.signal), /cancelled/)
  })
})
