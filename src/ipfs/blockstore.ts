// The on-disk blockstore: blockstore-fs with reads that return a block in one piece.
// blockstore-fs streams a block file in 64 KiB chunks, and every consumer (the UnixFS
// exporter, bitswap's sender) joins them with it-to-buffer, which re-copies the whole
// prefix on each chunk: a 1 MiB block cost ~9 MB of copying, which held bitswap's sender
// to ~100 MB/s before a single byte reached the network.
import fs from 'node:fs/promises'
import path from 'node:path'
import { FsBlockstore } from 'blockstore-fs'
import { NextToLast, type ShardingStrategy } from 'blockstore-fs/sharding'
import { NotFoundError } from 'interface-store'
import type { CID } from 'multiformats/cid'
import type { AbortOptions } from '@libp2p/interface'

export class FileBlockstore extends FsBlockstore {
  private readonly root: string
  private readonly sharding: ShardingStrategy

  constructor(location: string) {
    const sharding = new NextToLast()
    super(location, { shardingStrategy: sharding })
    this.root = path.resolve(location)
    this.sharding = sharding
  }

  override async *get(key: CID, options?: AbortOptions): AsyncGenerator<Uint8Array> {
    const { dir, file } = this.sharding.encode(key)
    options?.signal?.throwIfAborted()
    let bytes: Buffer
    try {
      bytes = await fs.readFile(path.join(this.root, dir, file), { signal: options?.signal })
    } catch (err) {
      // As blockstore-fs does: callers (bitswap's sender among them) expect a missing or
      // unreadable block to be NotFound and stall on any other error.
      throw new NotFoundError(String(err))
    }
    yield bytes
  }
}
