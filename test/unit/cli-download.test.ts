import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { ApiClient } from '../../src/api/client.js'
import type { CliContext } from '../../src/cli/context.js'
import { downloadUrl, getJobResults, mergeResults, rawFileName } from '../../src/cli/download.js'
import type { SpecConfig } from '../../src/models/job.js'
import { createResultsArchive } from '../../src/publishers/local/archive.js'

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jobget-'))
let server: http.Server
let base: string

function resultsDir(name: string, files: Record<string, string>): string {
  const dir = path.join(root, 'src', name)
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
    fs.writeFileSync(path.join(dir, rel), text)
  }
  return dir
}

before(async () => {
  const served = path.join(root, 'served')
  fs.mkdirSync(served)
  await createResultsArchive(
    resultsDir('e1', { stdout: 'one\n', stderr: '', exitCode: '0', 'outputs/a.txt': 'A' }),
    path.join(served, 'e-1.tar.gz'),
  )
  await createResultsArchive(
    resultsDir('e2', { stdout: 'two\n', stderr: 'warn\n', exitCode: '0', 'outputs/b.txt': 'B' }),
    path.join(served, 'e-2.tar.gz'),
  )
  await createResultsArchive(
    resultsDir('e3', { stdout: 'three\n', 'outputs/a.txt': 'clash' }),
    path.join(served, 'e-3.tar.gz'),
  )
  server = http.createServer((req, res) => {
    const file = path.join(served, path.basename(req.url!))
    if (!fs.existsSync(file)) {
      res.writeHead(404)
      return res.end('no such result')
    }
    res.writeHead(200)
    fs.createReadStream(file).pipe(res)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
after(() => {
  server.close()
  fs.rmSync(root, { recursive: true, force: true })
})

function fakes(results: SpecConfig[]) {
  let out = ''
  let err = ''
  const ctx = { out: (t: string) => (out += t), err: (t: string) => (err += t) } as unknown as CliContext
  const client = { jobResults: async () => ({ NextToken: '', Items: results }) } as unknown as ApiClient
  return { ctx, client, out: () => out, err: () => err }
}
const url = (name: string): SpecConfig => ({ Type: 'urlDownload', Params: { URL: `${base}/${name}` } })

describe('job get helpers', () => {
  it('names raw files after host and path', () => {
    assert.equal(rawFileName('http://127.0.0.1:6001/e-1.tar.gz'), '127.0.0.1_6001_e-1.tar.gz')
    assert.equal(
      rawFileName('https://b.s3.amazonaws.com/k/r.tar.gz?X-Amz=1'),
      'b.s3.amazonaws.com_k_r.tar.gz',
    )
  })

  it('knows which results it can download', () => {
    assert.equal(downloadUrl({ Type: 'urlDownload', Params: { url: 'http://h/x' } }), 'http://h/x')
    assert.equal(
      downloadUrl({ Type: 's3PreSigned', Params: { PreSignedURL: 'https://s3/x', SourceSpec: {} } }),
      'https://s3/x',
    )
    assert.equal(downloadUrl({ Type: 's3', Params: { Bucket: 'b' } }), undefined)
    assert.equal(downloadUrl({ Type: 'ipfs', Params: { CID: 'Qm' } }), undefined)
  })

  it('merges one result by moving it', async () => {
    const out = path.join(root, 'm1')
    await mergeResults([resultsDir('m1src', { stdout: 'x', 'outputs/f': 'f' })], out)
    assert.equal(fs.readFileSync(path.join(out, 'stdout'), 'utf8'), 'x')
    assert.equal(fs.readFileSync(path.join(out, 'outputs/f'), 'utf8'), 'f')
  })
})

describe('job get', () => {
  it('downloads, extracts and merges several results, appending stdout/stderr/exitCode', async () => {
    const f = fakes([url('e-1.tar.gz'), url('e-2.tar.gz')])
    const outDir = path.join(root, 'out-merge')
    await getJobResults(f.ctx, f.client, 'j-1', { outputDir: outDir, timeoutMs: 10_000 })
    assert.equal(f.err(), "Fetching results of job 'j-1'...\n")
    assert.equal(f.out(), `Results for job 'j-1' have been written to...\n${outDir}\n`)
    assert.equal(fs.readFileSync(path.join(outDir, 'stdout'), 'utf8'), 'one\ntwo\n')
    assert.equal(fs.readFileSync(path.join(outDir, 'stderr'), 'utf8'), 'warn\n')
    assert.equal(fs.readFileSync(path.join(outDir, 'exitCode'), 'utf8'), '00')
    assert.equal(fs.readFileSync(path.join(outDir, 'outputs/a.txt'), 'utf8'), 'A')
    assert.equal(fs.readFileSync(path.join(outDir, 'outputs/b.txt'), 'utf8'), 'B')
    assert.ok(!fs.existsSync(path.join(outDir, 'raw')))
  })

  it('refuses to merge clashing output files', async () => {
    const f = fakes([url('e-1.tar.gz'), url('e-3.tar.gz')])
    const outDir = path.join(root, 'out-clash')
    await assert.rejects(getJobResults(f.ctx, f.client, 'j-1', { outputDir: outDir, timeoutMs: 10_000 }), {
      message: `cannot merge results as output already exists: ${path.join(outDir, 'outputs/a.txt')}. Try --raw to download raw results instead of merging them`,
    })
  })

  it('keeps archives untouched with --raw', async () => {
    const f = fakes([url('e-1.tar.gz')])
    const outDir = path.join(root, 'out-raw')
    await getJobResults(f.ctx, f.client, 'j-1', { outputDir: outDir, raw: true, timeoutMs: 10_000 })
    const port = new URL(base).port
    assert.deepEqual(fs.readdirSync(path.join(outDir, 'raw')), [`127.0.0.1_${port}_e-1.tar.gz`])
  })

  it('defaults to ./job-<arg> (with the namespace outside default)', async () => {
    const cwd = process.cwd()
    process.chdir(root)
    try {
      const f = fakes([url('e-1.tar.gz')])
      await getJobResults(f.ctx, f.client, 'j-abc', { timeoutMs: 10_000 })
      assert.ok(fs.existsSync(path.join(root, 'job-j-abc', 'stdout')))
      await getJobResults(fakes([url('e-1.tar.gz')]).ctx, f.client, 'j-abc', {
        timeoutMs: 10_000,
        namespace: 'team',
      })
      assert.ok(fs.existsSync(path.join(root, 'job-team-j-abc', 'stdout')))
    } finally {
      process.chdir(cwd)
    }
  })

  it('says so when there are no results or no downloader', async () => {
    const none = fakes([])
    await getJobResults(none.ctx, none.client, 'j-1', { timeoutMs: 1000 })
    assert.equal(
      none.out(),
      'No results found\nYou can check the logged output of the job using the logs command.\n\n  bacalhau job logs j-1\n',
    )
    const s3 = fakes([{ Type: 's3', Params: { Bucket: 'b', Key: 'k/' } }])
    await getJobResults(s3.ctx, s3.client, 'j-1', { timeoutMs: 1000 })
    assert.match(s3.err(), /No supported downloader found for the published results\./)
    assert.match(s3.err(), /"Bucket": "b"/)
  })

  it('reports HTTP errors with the body', async () => {
    const f = fakes([url('missing.tar.gz')])
    await assert.rejects(
      getJobResults(f.ctx, f.client, 'j-1', { outputDir: path.join(root, 'out-404'), timeoutMs: 10_000 }),
      /HTTP 404: no such result/,
    )
  })
})
