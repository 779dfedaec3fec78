import './network-helpers.js'
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { loadOrCreateIdentity, KEY_FILE } from '../../src/network/identity.js'
import { deriveNetworkKey, networkKeyFingerprint, noisePrologue } from '../../src/network/network-key.js'
import { toMultiaddr } from '../../src/network/host.js'

describe('network identity', () => {
  it('creates a key once (mode 0600) and keeps the same peer ID across loads', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ident-'))
    try {
      const a = await loadOrCreateIdentity(path.join(dir, 'data'))
      const file = path.join(dir, 'data', KEY_FILE)
      assert.equal(fs.statSync(file).mode & 0o777, 0o600)
      const b = await loadOrCreateIdentity(path.join(dir, 'data'))
      assert.equal(a.peerId.toString(), b.peerId.toString())
      assert.equal(a.privateKey.type, 'Ed25519')
      const other = await loadOrCreateIdentity(path.join(dir, 'other'))
      assert.notEqual(other.peerId.toString(), a.peerId.toString())
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('agrees on one identity when two loads race', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ident-'))
    try {
      const ids = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateIdentity(dir)))
      assert.equal(new Set(ids.map((i) => i.peerId.toString())).size, 1)
      assert.deepEqual(fs.readdirSync(dir), [KEY_FILE])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('refuses a damaged key instead of replacing it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ident-'))
    try {
      fs.writeFileSync(path.join(dir, KEY_FILE), 'not a key')
      await assert.rejects(loadOrCreateIdentity(dir), /not a valid private key.*delete it/)
      assert.equal(fs.readFileSync(path.join(dir, KEY_FILE), 'utf8'), 'not a key')
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('network key', () => {
  it('is deterministic per token, differs between tokens, and is 32 bytes', () => {
    const a1 = deriveNetworkKey('token-a')!
    const a2 = deriveNetworkKey('token-a')!
    const b = deriveNetworkKey('token-b')!
    assert.deepEqual(a1, a2)
    assert.notDeepEqual(a1, b)
    assert.equal(a1.byteLength, 32)
    assert.equal(networkKeyFingerprint(a1), networkKeyFingerprint(a2))
    assert.notEqual(networkKeyFingerprint(a1), networkKeyFingerprint(b))
    assert.ok(
      !Buffer.from(a1).toString('hex').startsWith(networkKeyFingerprint(a1)),
      'the fingerprint does not reveal the key',
    )
  })

  it('gives a labelled Noise prologue that ends with the key', () => {
    const key = deriveNetworkKey('token-a')!
    const prologue = noisePrologue(key)
    assert.deepEqual(prologue.subarray(prologue.length - 32), key)
    assert.match(
      new TextDecoder().decode(prologue.subarray(0, prologue.length - 32)),
      /^bacalhau-ts\/closed-network\/v1:$/,
    )
  })

  it('is absent for an empty token', () => {
    assert.equal(deriveNetworkKey(''), undefined)
    assert.equal(deriveNetworkKey(undefined), undefined)
  })
})

describe('peer addresses', () => {
  it('accepts multiaddrs, host:port, ip:port and URL-style addresses', () => {
    assert.equal(toMultiaddr('/ip4/10.0.0.1/tcp/4222').toString(), '/ip4/10.0.0.1/tcp/4222')
    assert.equal(toMultiaddr('10.0.0.1:4222').toString(), '/ip4/10.0.0.1/tcp/4222')
    assert.equal(toMultiaddr('orch.example:4222').toString(), '/dns4/orch.example/tcp/4222')
    assert.equal(toMultiaddr('[::1]:4222').toString(), '/ip6/::1/tcp/4222')
    assert.equal(toMultiaddr('nats://127.0.0.1:4222').toString(), '/ip4/127.0.0.1/tcp/4222')
    assert.throws(() => toMultiaddr('no-port'), /invalid peer address "no-port"/)
    assert.throws(() => toMultiaddr('h:99999'), /out of range/)
  })
})
