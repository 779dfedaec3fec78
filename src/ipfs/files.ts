// Moving UnixFS DAGs between the embedded IPFS node and host folders: add a file or a
// folder (streamed, never read whole), and write a CID back out as a file or folder.
import fs from 'node:fs'
import path from 'node:path'
import { setMaxListeners } from 'node:events'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { unixfs } from '@helia/unixfs'
import type { Helia } from 'helia'
import { CID } from 'multiformats/cid'

/** Parses a CID, with an error that says what was wrong. */
export function parseCid(text: string): CID {
  try {
    return CID.parse(text.trim())
  } catch (e) {
    throw new Error(`invalid CID "${text}": ${(e as Error).message}`)
  }
}

async function* walk(
  dir: string,
  rel: string,
): AsyncGenerator<{ path: string; content?: AsyncIterable<Uint8Array> }> {
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))
  yield { path: rel }
  for (const e of entries) {
    const full = path.join(dir, e.name)
    const r = `${rel}/${e.name}`
    if (e.isDirectory()) yield* walk(full, r)
    else if (e.isFile()) yield { path: r, content: fs.createReadStream(full) }
    // Symlinks, sockets and devices are not content: left out.
  }
}

/** How long announcing a new root to the DHT may take before it is given up. */
const PROVIDE_TIMEOUT_MS = 30_000

/**
 * Adds a file or a folder; a folder keeps its structure under the returned root CID. The
 * root is then announced to the cluster's DHT in the background (Helia does not do it by
 * itself), so nodes that are not connected to this one find it as a provider.
 */
export async function addPath(
  helia: Helia,
  source: string,
  onProvideError?: (err: Error) => void,
): Promise<CID> {
  const fsx = unixfs(helia)
  const st = fs.statSync(source)
  let rootCid: CID | undefined
  if (st.isFile()) rootCid = await fsx.addByteStream(fs.createReadStream(source))
  else if (!st.isDirectory()) throw new Error(`${source} is neither a file nor a folder`)
  else {
    const root = 'root'
    for await (const entry of fsx.addAll(walk(source, root) as never))
      if (entry.path === root) rootCid = entry.cid
  }
  if (!rootCid) throw new Error(`adding ${source} produced no root`)
  announce(helia, rootCid, onProvideError)
  return rootCid
}

function announce(helia: Helia, cid: CID, onError?: (err: Error) => void): void {
  void helia.routing.provide(cid, { signal: AbortSignal.timeout(PROVIDE_TIMEOUT_MS) }).catch((err: Error) => {
    // A node with no DHT peers yet cannot announce; connected peers still get it by bitswap.
    onError?.(err)
  })
}

/** Writes a CID to `dest`: a file, or a folder tree. Blocks come from peers over bitswap. */
export async function exportCid(
  helia: Helia,
  cid: CID,
  dest: string,
  signal: AbortSignal,
  maxBytes = Infinity,
): Promise<void> {
  setMaxListeners(Infinity, signal) // one signal is shared by every block fetch (STACK #15)
  const fsx = unixfs(helia)
  let total = 0
  const write = async (c: CID, file: string) => {
    const counted = async function* () {
      for await (const chunk of fsx.cat(c, { signal })) {
        total += chunk.byteLength
        if (total > maxBytes) throw new Error(`larger than the ${maxBytes} byte limit`)
        yield chunk
      }
    }
    await pipeline(Readable.from(counted()), fs.createWriteStream(file))
  }
  const visit = async (c: CID, target: string) => {
    const st = await fsx.stat(c, { signal })
    if (st.type === 'directory') {
      fs.mkdirSync(target, { recursive: true })
      for await (const entry of fsx.ls(c, { signal })) {
        if (!entry.name || entry.name === '.' || entry.name === '..' || entry.name.includes('/'))
          throw new Error(`refusing directory entry "${entry.name}"`)
        await visit(entry.cid, path.join(target, entry.name))
      }
    } else await write(c, target)
  }
  await visit(cid, dest)
}
