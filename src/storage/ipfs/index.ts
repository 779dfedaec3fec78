// ipfs:// inputs: the CID is fetched through the node's embedded Helia (bitswap from
// connected peers, providers found through the DHT) and mounted at Target.
import fs from 'node:fs'
import path from 'node:path'
import type { Helia } from 'helia'
import { paramValue } from '../../models/ci.js'
import type { InputSource } from '../../models/job.js'
import type { PreparedInput } from '../../executors/types.js'
import { exportCid, parseCid } from '../../ipfs/files.js'
import { scope } from '../../network/scope.js'
import type { StorageProvider } from '../types.js'

export interface IpfsStorageOptions {
  /** How long to look for the data before giving up (InputSources.ReadTimeout). */
  timeoutMs?: number
  maxBytes?: number
}

export class IpfsStorage implements StorageProvider {
  readonly types = ['ipfs'] as const

  constructor(
    private readonly helia: Helia,
    private readonly opts: IpfsStorageOptions = {},
  ) {}

  async isInstalled(): Promise<boolean> {
    return true
  }

  validate(input: InputSource): string | undefined {
    try {
      parseCid(String(paramValue(input.Source?.Params, 'CID') ?? ''))
      return undefined
    } catch (e) {
      return `ipfs input: ${(e as Error).message}`
    }
  }

  /** True when every block of the CID's root is already in this node's blockstore. */
  async hasLocally(input: InputSource): Promise<boolean> {
    try {
      return await this.helia.blockstore.has(parseCid(String(paramValue(input.Source?.Params, 'CID') ?? '')))
    } catch {
      return false
    }
  }

  async prepare(input: InputSource, workDir: string, signal: AbortSignal): Promise<PreparedInput> {
    const text = String(paramValue(input.Source?.Params, 'CID') ?? '')
    const cid = parseCid(text)
    fs.mkdirSync(workDir, { recursive: true })
    const dest = path.join(workDir, cid.toString())
    const timeoutMs = this.opts.timeoutMs ?? 5 * 60_000
    const sc = scope({ timeoutMs, parents: [signal] })
    try {
      const max = this.opts.maxBytes && this.opts.maxBytes > 0 ? this.opts.maxBytes : Infinity
      await exportCid(this.helia, cid, dest, sc.signal, max)
    } catch (e) {
      fs.rmSync(dest, { recursive: true, force: true })
      if (sc.timedOut())
        throw new Error(
          `ipfs input ${cid}: not found on any reachable peer within ${Math.round(timeoutMs / 1000)}s`,
        )
      throw new Error(`ipfs input ${cid}: ${(e as Error).message}`)
    } finally {
      sc.dispose()
    }
    return { hostPath: dest, target: input.Target, readOnly: true }
  }

  async cleanup(prepared: PreparedInput): Promise<void> {
    fs.rmSync(prepared.hostPath, { recursive: true, force: true })
  }
}
