// The node's libp2p identity. It persists in the data dir so the peer ID (and with it the
// NodeID binding orchestrators keep, and the addresses peers have stored) survives restarts.
import { randomUUID } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId, PrivateKey } from '@libp2p/interface'

export const KEY_FILE = 'libp2p.key'

/** Loads `<dataDir>/libp2p.key`, creating an Ed25519 key there (mode 0600) on first use. */
export async function loadOrCreatePrivateKey(dataDir: string): Promise<PrivateKey> {
  const file = path.join(dataDir, KEY_FILE)
  const existing = await readKey(file)
  if (existing) return existing
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 })
  const key = await generateKeyPair('Ed25519')
  // Written under a temporary name and linked into place, so a crash never leaves a
  // truncated key behind and two processes starting at once agree on one identity.
  const tmp = `${file}.${randomUUID()}.tmp`
  await fs.writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
  try {
    await fs.link(tmp, file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    const winner = await readKey(file)
    if (!winner) throw err
    return winner
  } finally {
    await fs.rm(tmp, { force: true })
  }
  return key
}

/** The key and the peer ID it yields. */
export async function loadOrCreateIdentity(
  dataDir: string,
): Promise<{ privateKey: PrivateKey; peerId: PeerId }> {
  const privateKey = await loadOrCreatePrivateKey(dataDir)
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey) }
}

async function readKey(file: string): Promise<PrivateKey | undefined> {
  let bytes: Buffer
  try {
    bytes = await fs.readFile(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new Error(`cannot read the libp2p identity at ${file}: ${(err as Error).message}`)
  }
  let key: PrivateKey
  try {
    key = privateKeyFromProtobuf(bytes)
  } catch (err) {
    // Never replace a damaged key silently: the peer ID is what other nodes know us by.
    throw new Error(
      `the libp2p identity at ${file} is not a valid private key (${(err as Error).message}); ` +
        'restore it, or delete it to start with a new peer ID',
    )
  }
  // A key copied in by hand may be world-readable; it is a secret.
  const st = await fs.stat(file)
  if ((st.mode & 0o077) !== 0) await fs.chmod(file, 0o600).catch(() => {})
  return key
}
