// A 300 MiB input must be streamed through the host-backed filesystem, not loaded:
// the process's peak RSS may not grow by anything like the file's size. Its own test
// file, because node --test gives each file a fresh process with a clean peak RSS.
import { after, it } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { WasmExecutor } from '../../src/executors/wasm/index.js'
import { projectRoot } from '../../src/util/paths.js'

const MiB = 1 << 20
const SIZE = 300 * MiB
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-large-'))
const ex = new WasmExecutor()

after(async () => {
  await ex.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

/** A sparse file of SIZE bytes with a short line every 7 MiB; returns its newline count. */
function makeInput(file: string): number {
  const fd = fs.openSync(file, 'w')
  let lines = 0
  try {
    for (let off = 0; off + 16 < SIZE; off += 7 * MiB) {
      fs.writeSync(fd, `line at ${off}\n`, off)
      lines++
    }
    fs.ftruncateSync(fd, SIZE)
  } finally {
    fs.closeSync(fd)
  }
  return lines
}

it('counts a 300 MiB input correctly while streaming it', async () => {
  const file = path.join(dir, 'big.bin')
  const lines = makeInput(file)
  assert.equal(fs.statSync(file).size, SIZE)

  const peakBefore = process.resourceUsage().maxRSS * 1024
  let sampled = 0
  const rss0 = process.memoryUsage().rss
  const sampler = setInterval(() => {
    sampled = Math.max(sampled, process.memoryUsage().rss - rss0)
  }, 5)
  let stdout = ''
  try {
    const result = await ex.run(
      {
        executionId: 'e-large',
        jobId: 'j-large',
        engine: {
          Type: 'wasm',
          Params: { EntryModule: '/app/wordcount.wasm', Parameters: ['/data/big.bin'] },
        },
        env: {},
        inputs: [
          {
            hostPath: path.join(projectRoot(), 'fixtures', 'wasm', 'wordcount.wasm'),
            target: '/app/wordcount.wasm',
            readOnly: true,
          },
          { hostPath: file, target: '/data/big.bin', readOnly: true },
        ],
        outputs: [],
        output: { stdout: (c) => (stdout += Buffer.from(c).toString()), stderr: () => undefined },
        memoryBytes: 64 * MiB,
        network: 'None',
      },
      new AbortController().signal,
    )
    assert.deepEqual(result, { exitCode: 0 })
  } finally {
    clearInterval(sampler)
  }
  assert.equal(stdout, `bytes=${SIZE} lines=${lines}\n`)
  const peakGrowth = process.resourceUsage().maxRSS * 1024 - peakBefore
  // Loading the file would add >= 300 MiB; worker, module and buffers need far less.
  assert.ok(peakGrowth < 100 * MiB, `peak RSS grew by ${(peakGrowth / MiB).toFixed(1)} MiB`)
  assert.ok(sampled < 100 * MiB, `sampled RSS grew by ${(sampled / MiB).toFixed(1)} MiB`)
})
