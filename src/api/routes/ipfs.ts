// This project's IPFS endpoints (Bacalhau delegates these to a separate IPFS daemon):
//   PUT /api/v1/ipfs/add      body: a tar of a file or folder → {"CID": "..."}
//   GET /api/v1/ipfs/get/:cid → a tar of the CID's file or folder
// They let `bacalhau data add` and `job get` reach the node's embedded IPFS node.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import type Router from '@koa/router'
import * as tar from 'tar'
import { BacalhauError } from '../../models/errors.js'
import { sendJson } from '../respond.js'

export interface IpfsApi {
  /** Adds a host file or folder; returns the root CID. */
  add(hostPath: string): Promise<string>
  /** Writes a CID out to `dest` (a file or a folder); rejects with a clear error if not found in time. */
  get(cid: string, dest: string, signal: AbortSignal): Promise<void>
}

const MAX_ADD_BYTES = 1024 ** 3

export function registerIpfsRoutes(router: Router, ipfs: IpfsApi): void {
  router.put('/api/v1/ipfs/add', async (ctx) => {
    const length = Number(ctx.get('content-length') || 0)
    if (length > MAX_ADD_BYTES)
      throw new BacalhauError(`upload of ${length} bytes is over the ${MAX_ADD_BYTES} byte limit`, {
        status: 413,
        component: 'IPFS',
      })
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ipfs-add-'))
    try {
      const root = path.join(dir, 'root')
      fs.mkdirSync(root)
      try {
        // tar refuses absolute paths and `..` entries by default (no preservePaths).
        await pipeline(ctx.req, tar.x({ cwd: root, strict: true, maxReadSize: 16 * 1024 * 1024 }))
      } catch (e) {
        throw new BacalhauError(`invalid upload: expected a tar archive (${(e as Error).message})`, {
          code: 'BadRequest',
          component: 'IPFS',
        })
      }
      const entries = fs.readdirSync(root)
      if (entries.length !== 1)
        throw new BacalhauError('invalid upload: the archive must hold exactly one file or folder', {
          code: 'BadRequest',
          component: 'IPFS',
        })
      const cid = await ipfs.add(path.join(root, entries[0]))
      sendJson(ctx, 200, { CID: cid })
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  router.get('/api/v1/ipfs/get/:cid', async (ctx) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ipfs-get-'))
    const abort = new AbortController()
    ctx.req.once('close', () => abort.abort())
    try {
      const name = ctx.params.cid
      await ipfs.get(name, path.join(dir, name), abort.signal).catch((e: Error) => {
        throw new BacalhauError(e.message, { code: 'NotFound', component: 'IPFS' })
      })
      ctx.status = 200
      ctx.set('Content-Type', 'application/x-tar')
      // tar's stream is a Minipass; Koa streams only stream.Readable bodies.
      ctx.body = Readable.from(tar.c({ cwd: dir, portable: true }, [name]))
      // The folder goes once the archive has been streamed out.
      ctx.res.once('close', () => fs.rmSync(dir, { recursive: true, force: true }))
    } catch (e) {
      fs.rmSync(dir, { recursive: true, force: true })
      throw e
    }
  })
}
