// The embedded IPFS node: Helia built on this node's own libp2p options (one host per
// node, STACK.md #13), with a persistent blockstore and datastore under DataDir. Helia
// owns the host; everything else (gossip, our protocols) runs on helia.libp2p.
import fs from 'node:fs'
import path from 'node:path'
import { createHeliaLight, type Helia } from 'helia'
import { withLibp2pLight } from '@helia/libp2p'
import { FileBlockstore } from './blockstore.js'
import { FsDatastore } from 'datastore-fs'
import { MemoryBlockstore } from 'blockstore-core'
import { MemoryDatastore } from 'datastore-core'
import { memoizingSha256 } from './hasher.js'
import { Bitswap } from './bitswap/bitswap.js'
import { hostStarted, libp2pOptions, type Host, type HostOptions } from '../network/host.js'

export interface IpfsNode {
  helia: Helia
  host: Host
  stop(): Promise<void>
}

export async function startIpfsNode(opts: HostOptions & { dataDir?: string }): Promise<IpfsNode> {
  let blockstore: FileBlockstore | MemoryBlockstore
  let datastore: FsDatastore | MemoryDatastore
  if (opts.dataDir) {
    const dir = path.join(opts.dataDir, 'ipfs')
    fs.mkdirSync(dir, { recursive: true })
    const fsBlocks = new FileBlockstore(path.join(dir, 'blocks'))
    const fsData = new FsDatastore(path.join(dir, 'datastore'))
    await fsBlocks.open()
    await fsData.open()
    blockstore = fsBlocks
    datastore = fsData
  } else {
    blockstore = new MemoryBlockstore()
    datastore = new MemoryDatastore()
  }
  const { logger, dataDir: _d, ...hostOpts } = opts
  // The light constructors: Helia's default one also adds HTTP routers and gateway block
  // brokers that reach public services (delegated-ipfs.dev, trustless gateways) on every
  // fetch, and merges public libp2p defaults into the host. A cluster must find its data
  // on its own peers only, over bitswap, with providers from the cluster's DHT.
  const helia = withLibp2pLight(
    createHeliaLight({ blockstore, datastore, hashers: [memoizingSha256()] }),
    libp2pOptions(hostOpts) as never,
  )
  let bitswap: Bitswap | undefined
  // Started after the libp2p mixin, whose host it needs.
  helia.addMixin({
    name: 'bitswap',
    start: async () => {
      bitswap = new Bitswap({
        libp2p: helia.libp2p,
        blockstore,
        getHasher: helia.getHasher,
        routing: helia.routing,
        logger,
      })
      await bitswap.start()
      helia.addBlockBroker(bitswap)
    },
  })
  await helia.start()
  const host = helia.libp2p as unknown as Host
  hostStarted(host, opts.token, logger, 'libp2p host and IPFS node started')
  return {
    helia,
    host,
    async stop() {
      await bitswap?.stop()
      await helia.stop()
      if (blockstore instanceof FileBlockstore) await blockstore.close()
      if (datastore instanceof FsDatastore) await datastore.close()
    },
  }
}
