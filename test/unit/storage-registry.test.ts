import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { InputSource } from '../../src/models/job.js'
import type { PreparedInput } from '../../src/executors/types.js'
import { InlineStorage } from '../../src/storage/inline/index.js'
import { LocalStorage } from '../../src/storage/local/index.js'
import { StorageRegistry } from '../../src/storage/registry.js'
import type { StorageProvider } from '../../src/storage/types.js'

describe('StorageRegistry', () => {
  it('registers inline and local under lower-case names', () => {
    const r = new StorageRegistry({ allowListedLocalPaths: ['/data/**'], disabled: [] })
    assert.deepEqual(r.types(), ['inline', 'local', 'localdirectory', 's3', 'urldownload'])
    assert.ok(r.get('inline') instanceof InlineStorage)
    assert.ok(r.get('LocalDirectory') instanceof LocalStorage)
    assert.equal(r.get('local'), r.get('localDirectory'))
    assert.equal(r.get('ipfs'), undefined)
    assert.deepEqual((r.get('local') as LocalStorage).allowList.entries, [
      { pattern: '/data/**', readWrite: false },
    ])
  })

  it('disables local and localDirectory together, case-insensitively', () => {
    assert.deepEqual(
      new StorageRegistry({ allowListedLocalPaths: [], disabled: ['localDirectory'] }).types(),
      ['inline', 's3', 'urldownload'],
    )
    assert.deepEqual(new StorageRegistry({ allowListedLocalPaths: [], disabled: ['LOCAL'] }).types(), [
      'inline',
      's3',
      'urldownload',
    ])
    assert.deepEqual(
      new StorageRegistry({ allowListedLocalPaths: [], disabled: ['Inline', 'S3', 'urlDownload'] }).types(),
      ['local', 'localdirectory'],
    )
  })

  it('accepts more providers', () => {
    const r = new StorageRegistry({ allowListedLocalPaths: [], disabled: ['urlDownload', 's3', 'custom'] })
    const fake = (types: string[]): StorageProvider => ({
      types,
      isInstalled: async () => true,
      prepare: async (_i: InputSource): Promise<PreparedInput> => ({
        hostPath: '/x',
        target: '/x',
        readOnly: true,
      }),
    })
    r.register(fake(['custom']))
    r.register(fake(['IPFS']))
    assert.deepEqual(r.types(), ['inline', 'ipfs', 'local', 'localdirectory'])
    assert.ok(r.get('ipfs'))
    assert.equal(r.get('custom'), undefined, 'a disabled type stays off when registered later')
  })
})
