// Child process of bench/ipfs.ts: an IPFS node (the node's own stack: host, Helia, bitswap,
// on-disk blockstore) that adds the file it is given and serves it until told to stop.
import '../src/polyfills.js'
import fs from 'node:fs'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { pino } from 'pino'
import { startIpfsNode } from '../src/ipfs/node.js'
import { addPath } from '../src/ipfs/files.js'

const [file, dataDir, token] = process.argv.slice(2)
if (!file || !dataDir) throw new Error('usage: ipfs-peer.js FILE DATADIR [TOKEN]')
fs.mkdirSync(dataDir, { recursive: true })
const node = await startIpfsNode({
  privateKey: await generateKeyPair('Ed25519'),
  listen: ['/ip4/127.0.0.1/tcp/0'],
  token,
  logger: pino({ level: 'error' }),
  dataDir,
})
const cid = await addPath(node.helia, file)
const cpu0 = process.cpuUsage()
process.stdout.write(
  JSON.stringify({ addr: node.host.getMultiaddrs()[0]!.toString(), cid: cid.toString() }) + '\n',
)
process.on('SIGTERM', () => {
  const cpu = process.cpuUsage(cpu0)
  process.stderr.write(JSON.stringify({ servingCpuMs: Math.round((cpu.user + cpu.system) / 1000) }) + '\n')
  void node.stop().then(() => process.exit(0))
})
