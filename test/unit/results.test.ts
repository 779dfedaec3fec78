import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  MAX_OUTPUT_FILE_BYTES,
  RUN_OUTPUT_PREFIX_BYTES,
  ResultsWriter,
  writeExitCode,
} from '../../src/compute/results.js'

describe('ResultsWriter', () => {
  let tmp: string
  let n = 0
  const dir = () => path.join(tmp, `r${n++}`)
  const read = (d: string, f: string) => fs.readFileSync(path.join(d, f))

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'results-test-'))
  })
  after(() => fs.rmSync(tmp, { recursive: true, force: true }))

  it('uses Bacalhau limits by default', () => {
    assert.equal(MAX_OUTPUT_FILE_BYTES, 1024 ** 3)
    assert.equal(RUN_OUTPUT_PREFIX_BYTES, 2048)
  })

  it('writes ordered stdout/stderr files, exitCode, and short RunOutput', () => {
    const d = dir()
    const w = new ResultsWriter(d)
    w.stdout(Buffer.from('hello '))
    w.stderr(Buffer.from('warn\n'))
    w.stdout(new TextEncoder().encode('world\n'))
    w.stdout('text too\n')
    w.stdout(new Uint8Array(0))
    const out = w.finish(3)
    assert.deepEqual(out, {
      Stdout: 'hello world\ntext too\n',
      StdoutTruncated: false,
      stderr: 'warn\n',
      StderrTruncated: false,
      ExitCode: 3,
      ErrorMsg: '',
    })
    assert.equal(read(d, 'stdout').toString(), 'hello world\ntext too\n')
    assert.equal(read(d, 'stderr').toString(), 'warn\n')
    assert.equal(read(d, 'exitCode').toString(), '3')
    assert.deepEqual(fs.readdirSync(d).sort(), ['exitCode', 'stderr', 'stdout'])
    // Output after finish() is ignored, not an error (a late chunk from a dying runner).
    w.stdout('late')
    assert.equal(read(d, 'stdout').toString(), 'hello world\ntext too\n')
    assert.throws(() => w.finish(0), /already finished/)
  })

  it('creates empty files for silent streams', () => {
    const d = dir()
    const out = new ResultsWriter(d).finish(0)
    assert.equal(out.Stdout, '')
    assert.equal(out.stderr, '')
    assert.equal(read(d, 'stdout').length, 0)
    assert.equal(read(d, 'stderr').length, 0)
    assert.equal(read(d, 'exitCode').toString(), '0')
  })

  it('keeps the first 2048 bytes and flags truncation only when more was produced', () => {
    const d = dir()
    const w = new ResultsWriter(d)
    w.stdout(Buffer.alloc(2048, 'a'))
    w.stderr(Buffer.alloc(1000, 'b'))
    w.stderr(Buffer.alloc(1049, 'c'))
    const out = w.finish(0)
    assert.equal(out.Stdout, 'a'.repeat(2048))
    assert.equal(out.StdoutTruncated, false)
    assert.equal(out.stderr, 'b'.repeat(1000) + 'c'.repeat(1048))
    assert.equal(out.StderrTruncated, true)
    assert.equal(read(d, 'stderr').length, 2049)
  })

  it('does not split a multi-byte character at the 2048-byte cut', () => {
    const d = dir()
    const w = new ResultsWriter(d)
    // 2047 ASCII bytes, then "€" (3 bytes) straddles the cut.
    w.stdout(Buffer.from('x'.repeat(2047) + '€tail'))
    // Split chunks across writes, with a 4-byte emoji cut after 2 bytes at 2048.
    const emoji = Buffer.from('😀')
    w.stderr(Buffer.alloc(2046, 'y'))
    w.stderr(emoji.subarray(0, 1))
    w.stderr(emoji.subarray(1))
    const out = w.finish(0)
    assert.equal(out.Stdout, 'x'.repeat(2047))
    assert.equal(out.StdoutTruncated, true)
    assert.equal(out.stderr, 'y'.repeat(2046))
    assert.equal(out.StderrTruncated, true)
    assert.doesNotMatch(out.Stdout + out.stderr, /\uFFFD/)
    // The files themselves are complete.
    assert.equal(read(d, 'stdout').toString(), 'x'.repeat(2047) + '€tail')
    assert.deepEqual(read(d, 'stderr').subarray(2046), emoji)
  })

  it('keeps whole characters that end exactly at the cut, and shows a genuinely bad tail', () => {
    const w = new ResultsWriter(dir())
    w.stdout(Buffer.from('x'.repeat(2045) + '€'))
    w.stderr(Buffer.from([0x68, 0x69, 0xe2, 0x82]))
    const out = w.finish(0)
    assert.equal(out.Stdout, 'x'.repeat(2045) + '€')
    assert.equal(out.StdoutTruncated, false)
    assert.equal(out.stderr, 'hi\uFFFD')
  })

  it('caps each file, dropping the excess, while still reporting truncation', () => {
    const d = dir()
    const w = new ResultsWriter(d, { maxFileBytes: 10, prefixBytes: 4 })
    w.stdout('12345')
    w.stdout('67890abc')
    w.stdout('more')
    w.stderr('0123456789')
    w.stderr('X')
    const out = w.finish(1)
    assert.equal(read(d, 'stdout').toString(), '1234567890')
    assert.equal(read(d, 'stderr').toString(), '0123456789')
    assert.equal(out.Stdout, '1234')
    assert.equal(out.StdoutTruncated, true)
    assert.equal(out.stderr, '0123')
    assert.equal(out.StderrTruncated, true)
    assert.equal(w.writeError, undefined)
  })

  it('appends to existing files', () => {
    const d = dir()
    fs.mkdirSync(d)
    fs.writeFileSync(path.join(d, 'stdout'), 'before:')
    const w = new ResultsWriter(d)
    w.stdout('after')
    w.finish(0)
    assert.equal(read(d, 'stdout').toString(), 'before:after')
  })

  it('close() releases the files without writing exitCode', () => {
    const d = dir()
    const w = new ResultsWriter(d)
    w.stdout('x')
    w.close()
    w.close()
    assert.equal(fs.existsSync(path.join(d, 'exitCode')), false)
    assert.equal(read(d, 'stdout').toString(), 'x')
  })
})

describe('writeExitCode', () => {
  it('writes decimal text without a newline, at most 4 bytes', () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'exitcode-test-'))
    try {
      const cases: [number, string][] = [
        [0, '0'],
        [1, '1'],
        [137, '137'],
        [-1, '-1'],
        [255, '255'],
        [12345, '1234'],
        [-1000, '-100'],
      ]
      for (const [code, text] of cases) {
        writeExitCode(d, code)
        assert.equal(fs.readFileSync(path.join(d, 'exitCode'), 'utf8'), text, String(code))
      }
    } finally {
      fs.rmSync(d, { recursive: true, force: true })
    }
  })
})
