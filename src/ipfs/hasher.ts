// SHA2-256 for the embedded IPFS node that remembers the digests of the blocks it hashed,
// and hashes large blocks off the main thread (WebCrypto runs in libuv's thread pool), so
// the thread that decrypts and routes the incoming stream is not also the one hashing it.
// A block fetched over bitswap is hashed once by bitswap (to learn which CID it answers)
// and again by Helia's block verification, with the very same bytes object; at ~1 GB/s
// that second pass costs about a tenth of a second per 100 MB on this hardware. The cache
// is keyed by object identity (a WeakMap), so it never outlives the block and a digest is
// never reused for other bytes.
import { createHash, webcrypto } from 'node:crypto'
import { from } from 'multiformats/hashes/hasher'
import type { MultihashHasher } from 'multiformats/hashes/interface'

const SHA2_256 = 0x12
/** Below this size hashing inline is cheaper than a trip to the thread pool. */
const OFF_THREAD_BYTES = 64 * 1024

export type CountingHasher = MultihashHasher<typeof SHA2_256> & { readonly computed: () => number }

/** A Helia `hashers` entry that replaces the default SHA2-256. */
export function memoizingSha256(): CountingHasher {
  const cache = new WeakMap<Uint8Array, Uint8Array<ArrayBuffer> | Promise<Uint8Array<ArrayBuffer>>>()
  let computed = 0
  const hasher = from({
    name: 'sha2-256',
    code: SHA2_256,
    encode(input: Uint8Array): Uint8Array<ArrayBuffer> | Promise<Uint8Array<ArrayBuffer>> {
      let digest = cache.get(input)
      if (!digest) {
        computed++
        if (input.byteLength >= OFF_THREAD_BYTES) {
          digest = webcrypto.subtle
            .digest('SHA-256', input as Uint8Array<ArrayBuffer>)
            .then((d) => new Uint8Array(d))
        } else {
          const d = createHash('sha256').update(input).digest()
          digest = new Uint8Array(d.buffer as ArrayBuffer, d.byteOffset, d.byteLength)
        }
        cache.set(input, digest)
      }
      return digest
    },
  })
  return Object.assign(hasher, { computed: () => computed })
}
