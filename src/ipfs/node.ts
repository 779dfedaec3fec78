// The embedded IPFS node: Helia built on this node's own libp2p options (one host per
// node, STACK.md #13), with a persistent blockstore and datastore under DataDir. Helia
// owns the host; everything else (gossip, our protocols) runs on helia.libp2p.
import fs from 'node:fs'
import path from 'node:path'
import { createHelia, type Helia } from 'helia'
import { FsBlockstore } from 'blockstore-fs'
import { FsDatastore } from 'datastore-fs'
import { MemoryBlockstore } from 'blockstore-core'
import { MemoryDatastore } from 'datastore-core'
import { libp2pOptions, markPrivateNetwork, type Host, type HostOptions } from '../network/host.js'
import { derivePsk, pskFingerprint } from '../network/pnet.js'

export interface IpfsNode {
  helia: Helia
  host: Host
  stop(): Promise<void>
}

export async function startIpfsNode(opts: HostOptions & { dataDir?: string }): Promise<IpfsNode> {
  let blockstore: FsBlockstore | MemoryBlockstore
  let datastore: FsDatastore | MemoryDatastore
  if (opts.dataDir) {
    const dir = path.join(opts.dataDir, 'ipfs')
    fs.mkdirSync(dir, { recursive: true })
    const fsBlocks = new FsBlockstore(path.join(dir, 'blocks'))
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
  const helia = createHelia({
    blockstore,
    datastore,
    // Every top-level libp2p key is given, so Helia adds no public bootstrap, mDNS or
    // other default services of its own (STACK.md #13).
    libp2p: libp2pOptions(hostOpts) as never,
  })
  await helia.start()
  const host = helia.libp2p as unknown as Host
  const psk = derivePsk(opts.token)
  if (psk) markPrivateNetwork(host)
  logger.info(
    {
      peerId: host.peerId.toString(),
      addrs: host.getMultiaddrs().map((a) => a.toString()),
      privateNetwork: psk ? pskFingerprint(psk) : false,
    },
    'libp2p host and IPFS node started',
  )
  return {
    helia,
    host,
    async stop() {
      await helia.stop()
      if (blockstore instanceof FsBlockstore) await blockstore.close()
      if (datastore instanceof FsDatastore) await datastore.close()
    },
  }
}
