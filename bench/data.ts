// Input download throughput: a 100 MB object fetched by the S3 input source from a real
// S3-protocol server (s3rver) on loopback, and a 100 MB file fetched by the urlDownload
// source from a local HTTP server. Each is written to disk as a job input would be.
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { S3Storage } from '../src/storage/s3/index.js'
import { UrlStorage } from '../src/storage/url/index.js'
import { startS3Server } from '../test/helpers/s3-server.js'

const SIZE = 100 * 1024 * 1024
const mbps = (bytes: number, ms: number) => Math.round((bytes / 1e6 / (ms / 1000)) * 10) / 10

async function main() {
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER'
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER'
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-data-'))
  const file = path.join(work, 'blob.bin')
  const chunk = Buffer.alloc(1024 * 1024)
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff
  const fd = fs.openSync(file, 'w')
  for (let i = 0; i < SIZE / chunk.length; i++) fs.writeSync(fd, chunk)
  fs.closeSync(fd)

  const s3 = await startS3Server()
  const out: Record<string, unknown> = {
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model}, Node ${process.version}`,
    date: new Date().toISOString(),
    bytes: SIZE,
  }
  try {
    await s3.client.send(new CreateBucketCommand({ Bucket: 'bench' }))
    await s3.client.send(
      new PutObjectCommand({
        Bucket: 'bench',
        Key: 'blob.bin',
        Body: fs.createReadStream(file),
        ContentLength: SIZE,
      }),
    )
    const storage = new S3Storage()
    const input = {
      Target: '/in',
      Alias: '',
      Source: {
        Type: 's3',
        Params: { Bucket: 'bench', Key: 'blob.bin', Endpoint: s3.endpoint, Region: 'us-east-1' },
      },
    }
    const runs: number[] = []
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now()
      const prepared = await storage.prepare(input, path.join(work, `s3-${i}`), new AbortController().signal)
      runs.push(performance.now() - t0)
      await storage.cleanup?.(prepared)
    }
    out.s3DownloadMBps = mbps(SIZE, Math.min(...runs))
  } finally {
    await s3.stop()
  }

  const server = http.createServer((_req, res) => {
    res.setHeader('content-length', String(SIZE))
    fs.createReadStream(file).pipe(res)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  try {
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/blob.bin`
    const storage = new UrlStorage()
    const runs: number[] = []
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now()
      const prepared = await storage.prepare(
        { Target: '/in', Alias: '', Source: { Type: 'urlDownload', Params: { URL: url } } },
        path.join(work, `url-${i}`),
        new AbortController().signal,
      )
      runs.push(performance.now() - t0)
      await storage.cleanup?.(prepared)
    }
    out.urlDownloadMBps = mbps(SIZE, Math.min(...runs))
  } finally {
    server.close()
    fs.rmSync(work, { recursive: true, force: true })
  }
  process.stdout.write(JSON.stringify(out, null, 2) + '\n')
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
