// The closed network: a key derived from the shared network token is mixed into every
// Noise handshake as its prologue, so operators configure one secret string instead of
// distributing key files. Both sides hash the prologue into the handshake transcript; when
// the tokens differ the first authenticated handshake message fails to decrypt and the
// connection is dropped before any protocol runs.
//
// This replaced a libp2p private network (pnet) layer: pnet encrypts every byte a second
// time with XSalsa20 in JavaScript on top of Noise's ChaCha20-Poly1305, which capped
// bulk transfers (bitswap) at a fraction of what the link and Noise alone carry.
import { createHash, hkdfSync } from 'node:crypto'

// Fixed, project-specific: the same token used by another product must not yield our key.
const HKDF_SALT = 'bacalhau-ts/network-key/salt/v1'
const HKDF_INFO = 'bacalhau-ts noise prologue'
const KEY_BYTES = 32
const PROLOGUE_LABEL = 'bacalhau-ts/closed-network/v1:'

/** The 32-byte network key for a token, or undefined when the token is empty (open network). */
export function deriveNetworkKey(token: string | undefined): Uint8Array | undefined {
  if (token === undefined || token === '') return undefined
  return new Uint8Array(hkdfSync('sha256', token, HKDF_SALT, HKDF_INFO, KEY_BYTES))
}

/** The Noise prologue for a network key: a label (so it never collides with other uses) + key. */
export function noisePrologue(key: Uint8Array): Uint8Array {
  const label = new TextEncoder().encode(PROLOGUE_LABEL)
  const out = new Uint8Array(label.length + key.length)
  out.set(label, 0)
  out.set(key, label.length)
  return out
}

/**
 * A short, non-secret fingerprint of a network key for logs: two nodes that print different
 * fingerprints were configured with different tokens.
 */
export function networkKeyFingerprint(key: Uint8Array): string {
  return createHash('sha256').update('fingerprint:').update(key).digest('hex').slice(0, 12)
}
