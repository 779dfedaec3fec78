// The on-disk blockstore: blockstore-fs with reads that return a block in one piece.
// blockstore-fs streams a block file in 64 KiB chunks, and every consumer (the UnixFS
// exporter, bitswap's sender) joins them with it-to-buffer, which re-copies the whole
// prefix on each chunk: a 1 MiB block cost ~9 MB of copying, which held bitswap's sender
// to ~100 MB/s before a single byte reached the network. Writes skip blockstore-fs's
// per-block recursive mkdir (a syscall and a path walk for every block) once a shard folder
// is known to exist, and stay atomic (temporary file, then rename).
import fs from 'node:fs/promises'
import path from 'node:path'
import { FsBlockstore } from 'blockstore-fs'
import { NextToLast, type ShardingStrategy } from 'blockstore-fs/sharding'
import { NotFoundError, PutFailedError } from 'interface-store'
import type { CID } from 'multiformats/cid'
import type { AbortOptions } from '@libp2p/interface'

export class FileBlockstore extends FsBlockstore {
  private readonly root: string
  private readonly sharding: ShardingStrategy
  private readonly shardDirs = new Set<string>()
  private tmpCounter = 0

  constructor(location: string) {
    const sharding = new NextToLast()
    super(location, { shardingStrategy: sharding })
    this.root = path.resolve(location)
    this.sharding = sharding
  }

  override async put(key: CID, val: Uint8Array, options?: AbortOptions): Promise<CID> {
    const { dir, file } = this.sharding.encode(key)
    options?.signal?.throwIfAborted()
    const folder = path.join(this.root, dir)
    if (!this.shardDirs.has(folder)) {
      await fs.mkdir(folder, { recursive: true })
      this.shardDirs.add(folder)
    }
    const target = path.join(folder, file)
    const tmp = `${target}.${process.pid}.${++this.tmpCounter}.tmp`
    try {
      await fs.writeFile(tmp, val)
      await fs.rename(tmp, target)
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => {})
      // The shard folder may have been removed under us: forget it so the next put recreates it.
      this.shardDirs.delete(folder)
      throw new PutFailedError(String(err))
    }
    return key
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
