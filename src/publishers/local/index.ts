// The `local` publisher (bacalhau-api.md §5.4): results become <storageDir>/<executionID>.tar.gz,
// served over plain HTTP by this node, and the execution records a urlDownload result.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { SpecConfig } from '../../models/job.js'
import type { Publisher, PublishRequest } from '../types.js'
import { createResultsArchive } from './archive.js'
import { FileServer } from './server.js'

export { createResultsArchive, extractResultsArchive } from './archive.js'

export interface LocalPublisherOptions {
  /** Publishers.Types.Local.Address: listen host, used verbatim in result URLs. */
  address: string
  /** Publishers.Types.Local.Port; 0 picks a free port. */
  port: number
  /** <DataDir>/compute/results/local-publisher. */
  storageDir: string
}

/** Execution IDs become file names, so only plain names are accepted. */
const SAFE_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/

export class LocalPublisher implements Publisher {
  readonly name = 'local'
  readonly storageDir: string
  private readonly server: FileServer

  constructor(opts: LocalPublisherOptions) {
    this.storageDir = path.resolve(opts.storageDir)
    this.server = new FileServer({ address: opts.address, port: opts.port, dir: this.storageDir })
  }

  async isInstalled(): Promise<boolean> {
    return true
  }

  validate(_spec: SpecConfig): string | undefined {
    return undefined
  }

  start(): Promise<void> {
    return this.server.start()
  }

  stop(): Promise<void> {
    return this.server.stop()
  }

  /** The server's base URL (actual port once started), no trailing slash. */
  url(): string {
    return this.server.url()
  }

  async publish(request: PublishRequest, signal: AbortSignal): Promise<SpecConfig> {
    signal.throwIfAborted()
    const id = request.executionId
    if (!SAFE_ID.test(id)) throw new Error(`local publisher: invalid execution ID ${JSON.stringify(id)}`)
    // The URL must carry the real port, which is only known once listening.
    await this.server.start()
    await fs.promises.mkdir(this.storageDir, { recursive: true })

    const fileName = `${id}.tar.gz`
    // Written under a dot-name the server refuses, then renamed, so a download never sees half a file.
    const partial = path.join(
      this.storageDir,
      `.${fileName}.${crypto.randomBytes(6).toString('hex')}.partial`,
    )
    try {
      await createResultsArchive(request.resultsDir, partial)
      signal.throwIfAborted()
      await fs.promises.rename(partial, path.join(this.storageDir, fileName))
    } catch (err) {
      await fs.promises.rm(partial, { force: true })
      if (signal.aborted) throw err
      throw new Error(`local publisher: cannot archive results: ${(err as Error).message}`, { cause: err })
    }
    return { Type: 'urlDownload', Params: { URL: `${this.server.url()}/${encodeURIComponent(fileName)}` } }
  }
}
