import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { list as tarList } from 'tar'
import { INLINE_MAX_BYTES, inlineDataUrl, plainDataUrl, sniffMediaType } from '../../src/cli/inline.js'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inline-'))
after(() => fs.rmSync(dir, { recursive: true, force: true }))

function decode(url: string): { mediaType: string; data: Buffer } {
  const m = /^data:([^,]*);base64,(.*)$/s.exec(url)
  assert.ok(m, `not a base64 data URL: ${url.slice(0, 60)}`)
  return { mediaType: m[1], data: Buffer.from(m[2], 'base64') }
}

async function tarEntries(data: Buffer): Promise<string[]> {
  const file = path.join(dir, `t-${crypto.randomUUID()}.tar.gz`)
  fs.writeFileSync(file, data)
  const names: string[] = []
  await tarList({ file, onReadEntry: (e) => names.push(e.path) })
  return names
}

describe('inline data URLs', () => {
  it('sniffs wasm, text and binary', () => {
    assert.equal(sniffMediaType(Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])), 'application/wasm')
    assert.equal(sniffMediaType(Buffer.from('hello\n')), 'text/plain;charset=utf-8')
    assert.equal(sniffMediaType(Buffer.from([0xff, 0xfe, 0x00])), 'application/octet-stream')
    assert.equal(plainDataUrl(Buffer.from('hi')), 'data:text/plain;charset=utf-8;base64,aGk=')
  })

  it('embeds a file of up to 512 bytes as a plain data URL', async () => {
    const bytes = Buffer.concat([Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), crypto.randomBytes(504)])
    const file = path.join(dir, 'small.wasm')
    fs.writeFileSync(file, bytes)
    const r = await inlineDataUrl(file)
    assert.equal(r.archived, false)
    const d = decode(r.url)
    assert.equal(d.mediaType, 'application/wasm')
    assert.deepEqual(d.data, bytes)
  })

  it('embeds a larger file as a gzip tar holding just that file', async () => {
    const file = path.join(dir, 'big.wasm')
    fs.writeFileSync(file, Buffer.alloc(513, 7))
    const r = await inlineDataUrl(file)
    assert.equal(r.archived, true)
    const d = decode(r.url)
    assert.equal(d.mediaType, 'application/gzip')
    assert.deepEqual(await tarEntries(d.data), ['big.wasm'])
  })

  it('embeds a folder as a gzip tar of its contents', async () => {
    const folder = path.join(dir, 'mods')
    fs.mkdirSync(folder)
    fs.writeFileSync(path.join(folder, 'a.wasm'), 'a')
    fs.writeFileSync(path.join(folder, 'b.txt'), 'b')
    const r = await inlineDataUrl(folder)
    assert.equal(r.archived, true)
    assert.deepEqual((await tarEntries(decode(r.url).data)).sort(), ['a.wasm', 'b.txt'])
  })

  it('refuses data over 10 MB once compressed, and missing files', async () => {
    const file = path.join(dir, 'huge.bin')
    fs.writeFileSync(file, crypto.randomBytes(INLINE_MAX_BYTES + 4096))
    await assert.rejects(
      inlineDataUrl(file),
      /too large to embed in the job \(the limit is 10 MB once compressed\)/,
    )
    await assert.rejects(inlineDataUrl(path.join(dir, 'nope.wasm')), /nope.wasm: no such file or directory/)
  })
})
