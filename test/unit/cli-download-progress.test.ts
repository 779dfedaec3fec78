import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { downloadProgress, formatBytes } from '../../src/cli/download-progress.js'

function capture(): { stream: Writable & { isTTY?: boolean }; text: () => string } {
  let out = ''
  const stream = new Writable({
    write(chunk, _enc, cb) {
      out += String(chunk)
      cb()
    },
  })
  return { stream, text: () => out }
}

describe('job get progress bar', () => {
  it('shows the share, the bytes of the total and the rate of a download of known size', () => {
    const c = capture()
    const p = downloadProgress('Downloading result', 2_000_000, { stream: c.stream, force: true })
    p.update(1_000_000)
    p.update(2_000_000)
    p.stop()
    const text = c.text()
    assert.match(text, /Downloading result \[[^\]]+\] 100% \| 2\.0 MB \/ 2\.0 MB \| [\d.]+ [kMGT]?B\/s/)
  })

  it('shows bytes received and the rate when the size is unknown', () => {
    const c = capture()
    const p = downloadProgress('Downloading bafy', 0, { stream: c.stream, force: true })
    p.update(3_500_000)
    p.stop()
    assert.match(c.text(), /Downloading bafy 3\.5 MB \| [\d.]+ [kMGT]?B\/s/)
    assert.doesNotMatch(c.text(), /%/)
  })

  it('draws nothing on a stream that is not a terminal', () => {
    const c = capture()
    const p = downloadProgress('Downloading', 10, { stream: c.stream })
    p.update(10)
    p.stop()
    assert.equal(c.text(), '')
  })

  it('formats sizes in decimal units', () => {
    assert.equal(formatBytes(999), '999 B')
    assert.equal(formatBytes(1500), '1.5 kB')
    assert.equal(formatBytes(104_857_600), '104.9 MB')
  })
})
