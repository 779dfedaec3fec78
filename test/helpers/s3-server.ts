// A real S3-protocol server for tests: s3rver, an npm S3 implementation backed by a folder,
// runs in-process with no network access. Debian packages no maintained S3 server (apt-cache
// search minio finds only client libraries), and the team's STACK.md §3.6 recipe uses it.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { S3Client } from '@aws-sdk/client-s3'
import S3rver from 's3rver'

// Same reason as src/storage/s3/client.ts: the pinned SDK's Node 22 notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

/** s3rver's fixed account. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

export interface S3TestServer {
  /** http://127.0.0.1:<port> */
  endpoint: string
  /** A client for seeding and inspecting buckets (path style, s3rver credentials). */
  client: S3Client
  /** Every request the server received, as "METHOD url", for asserting what was sent. */
  requests: string[]
  stop(): Promise<void>
}

export async function startS3Server(): Promise<S3TestServer> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 's3rver-'))
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir })
  const { port } = await server.run()
  const requests: string[] = []
  server.httpServer?.on('request', (req: { method?: string; url?: string }) =>
    requests.push(`${req.method} ${req.url}`),
  )
  const endpoint = `http://127.0.0.1:${port}`
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    // s3rver stores aws-chunked bodies verbatim; see src/storage/s3/client.ts.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
  return {
    endpoint,
    client,
    requests,
    async stop() {
      client.destroy()
      await server.close()
      await fs.promises.rm(dir, { recursive: true, force: true })
    },
  }
}
