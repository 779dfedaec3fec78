// A libp2p private network (pnet) key derived from the shared network token, so operators
// configure one secret string instead of distributing a swarm.key file. Nodes whose tokens
// differ cannot complete the connection handshake and never see each other's traffic.
import { createHash, hkdfSync } from 'node:crypto'

const PSK_HEADER = '/key/swarm/psk/1.0.0/\n/base16/\n'
// Fixed, project-specific: the same token used by another product must not yield our key.
const HKDF_SALT = 'bacalhau-ts/pnet/salt/v1'
const HKDF_INFO = 'bacalhau-ts libp2p private network key'
const KEY_BYTES = 32

/**
 * The swarm.key-format PSK (`/key/swarm/psk/1.0.0/\n/base16/\n<64 hex>`) for a token, or
 * undefined when the token is empty (public network, no connection protector).
 */
export function derivePsk(token: string | undefined): Uint8Array | undefined {
  if (token === undefined || token === '') return undefined
  const key = Buffer.from(hkdfSync('sha256', token, HKDF_SALT, HKDF_INFO, KEY_BYTES))
  return new TextEncoder().encode(PSK_HEADER + key.toString('hex'))
}

/**
 * A short, non-secret fingerprint of a PSK for logs: two nodes that print different
 * fingerprints were configured with different tokens.
 */
export function pskFingerprint(psk: Uint8Array): string {
  return createHash('sha256').update(psk).digest('hex').slice(0, 12)
}
