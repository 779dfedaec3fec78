import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { InputSource } from '../../src/models/job.js'
import { globMatch, LocalStorage, parseAllowedPath } from '../../src/storage/local/index.js'

const signal = new AbortController().signal

const input = (params: Record<string, unknown>, target = '/mnt/in', type = 'local'): InputSource => ({
  Source: { Type: type, Params: params },
  Alias: '',
  Target: target,
})

describe('allow-list entries', () => {
  it('parses the :rw / :ro suffix, defaulting to ro', () => {
    assert.deepEqual(parseAllowedPath('/data'), { pattern: '/data', readWrite: false })
    assert.deepEqual(parseAllowedPath('/srv/x:rw'), { pattern: '/srv/x', readWrite: true })
    assert.deepEqual(parseAllowedPath('/srv/y:ro'), { pattern: '/srv/y', readWrite: false })
    assert.deepEqual(parseAllowedPath('/data/**/'), { pattern: '/data/**', readWrite: false })
    assert.throws(() => parseAllowedPath('data'), /must be an absolute path/)
  })

  it('matches like doublestar', () => {
    assert.equal(globMatch('/data', '/data'), true)
    assert.equal(globMatch('/data', '/data/x'), false)
    assert.equal(globMatch('/data/**', '/data'), true)
    assert.equal(globMatch('/data/**', '/data/a/b/c'), true)
    assert.equal(globMatch('/data/**', '/database'), false)
    assert.equal(globMatch('/data/*', '/data/a'), true)
    assert.equal(globMatch('/data/*', '/data/a/b'), false)
    assert.equal(globMatch('/data/*.csv', '/data/x.csv'), true)
    assert.equal(globMatch('/data/*.csv', '/data/x.csvx'), false)
    assert.equal(globMatch('/a/**/z', '/a/z'), true)
    assert.equal(globMatch('/a/**/z', '/a/b/c/z'), true)
    assert.equal(globMatch('/a.b', '/aXb'), false)
  })
})

describe('LocalStorage', () => {
  let root: string
  let ro: string
  let rw: string
  let outside: string
  let storage: LocalStorage

  before(() => {
    // realpath so that expectations hold where the temp dir itself is a symlink.
    root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'local-test-')))
    ro = path.join(root, 'ro')
    rw = path.join(root, 'rw')
    outside = path.join(root, 'outside')
    for (const d of [ro, rw, outside]) fs.mkdirSync(d)
    fs.writeFileSync(path.join(ro, 'file.txt'), 'read me')
    fs.mkdirSync(path.join(ro, 'sub'))
    fs.writeFileSync(path.join(outside, 'secret'), 'secret')
    fs.symlinkSync(outside, path.join(ro, 'escape'))
    fs.symlinkSync(path.join(outside, 'secret'), path.join(ro, 'secret-link'))
    fs.symlinkSync(path.join(ro, 'sub'), path.join(rw, 'to-ro'))
    fs.symlinkSync(path.join(outside, 'not-yet'), path.join(rw, 'dangling'))
    storage = new LocalStorage([`${ro}/**`, `${rw}/**:rw`, '/nonexistent-allowed'])
  })
  after(() => fs.rmSync(root, { recursive: true, force: true }))

  it('declares both type names', () => {
    assert.deepEqual([...storage.types], ['local', 'localdirectory'])
  })

  it('mounts an allowed path read-only in place', async () => {
    const src = path.join(ro, 'file.txt')
    assert.equal(storage.validate(input({ SourcePath: src })), undefined)
    const p = await storage.prepare(input({ SourcePath: src }), '/unused', signal)
    assert.deepEqual(p, { hostPath: src, target: '/mnt/in', readOnly: true })
  })

  it('mounts the allow-listed directory itself', async () => {
    const p = await storage.prepare(input({ sourcepath: ro }, '/in', 'localDirectory'), '/unused', signal)
    assert.deepEqual(p, { hostPath: ro, target: '/in', readOnly: true })
  })

  it('mounts read-write under a :rw entry (bool or "true")', async () => {
    for (const flag of [true, 'true', 'True', 1]) {
      const p = await storage.prepare(input({ SourcePath: rw, ReadWrite: flag }), '/unused', signal)
      assert.deepEqual(p, { hostPath: rw, target: '/mnt/in', readOnly: false })
    }
    const p = await storage.prepare(input({ SourcePath: rw, ReadWrite: 'false' }), '/unused', signal)
    assert.equal(p.readOnly, true)
  })

  it('refuses read-write without a :rw entry', async () => {
    const src = input({ SourcePath: path.join(ro, 'file.txt'), ReadWrite: true })
    assert.match(storage.validate(src) ?? '', /does not allow read-write access to local path/)
    await assert.rejects(
      storage.prepare(src, '/unused', signal),
      /^Error: local input: this node does not allow read-write/,
    )
  })

  it('refuses paths outside the allow-list', async () => {
    const src = input({ SourcePath: path.join(outside, 'secret') })
    assert.equal(storage.validate(src), `this node does not allow local path ${path.join(outside, 'secret')}`)
    await assert.rejects(
      storage.prepare(src, '/unused', signal),
      /local input: this node does not allow local path/,
    )
    assert.match(
      storage.validate(input({ SourcePath: '/etc/passwd' })) ?? '',
      /does not allow local path \/etc\/passwd/,
    )
  })

  it('refuses traversal with ..', async () => {
    for (const sp of [`${ro}/../outside/secret`, `${ro}/sub/../../outside`, `${ro}/../../../../etc/passwd`]) {
      assert.match(storage.validate(input({ SourcePath: sp })) ?? '', /does not allow local path/, sp)
      await assert.rejects(storage.prepare(input({ SourcePath: sp }), '/unused', signal), /does not allow/)
    }
    // `..` that stays inside is fine, and the mount uses the resolved path.
    const p = await storage.prepare(input({ SourcePath: `${ro}/sub/../file.txt` }), '/unused', signal)
    assert.equal(p.hostPath, path.join(ro, 'file.txt'))
  })

  it('refuses symlinks inside an allowed dir that point outside it', async () => {
    for (const sp of [
      path.join(ro, 'escape'),
      path.join(ro, 'escape', 'secret'),
      path.join(ro, 'secret-link'),
    ]) {
      assert.match(storage.validate(input({ SourcePath: sp })) ?? '', /does not allow local path/, sp)
      await assert.rejects(storage.prepare(input({ SourcePath: sp }), '/unused', signal), /does not allow/)
    }
  })

  it('does not let a symlink from a :rw dir into a :ro dir gain write access', async () => {
    const sp = path.join(rw, 'to-ro')
    assert.match(storage.validate(input({ SourcePath: sp, ReadWrite: true })) ?? '', /read-write/)
    const p = await storage.prepare(input({ SourcePath: sp }), '/unused', signal)
    assert.deepEqual(p, { hostPath: path.join(ro, 'sub'), target: '/mnt/in', readOnly: true })
  })

  it('requires an absolute SourcePath', async () => {
    assert.match(
      storage.validate(input({ SourcePath: 'relative/x' })) ?? '',
      /SourcePath must be an absolute path/,
    )
    assert.match(storage.validate(input({})) ?? '', /SourcePath is required/)
    await assert.rejects(
      storage.prepare(input({ SourcePath: 'x' }), '/unused', signal),
      /local input: SourcePath/,
    )
  })

  it('refuses a missing path unless read-write with CreateAs', async () => {
    const missing = path.join(ro, 'missing')
    assert.equal(storage.validate(input({ SourcePath: missing })), `source path does not exist: ${missing}`)
    await assert.rejects(
      storage.prepare(input({ SourcePath: missing }), '/unused', signal),
      new RegExp(`^Error: local input: source path does not exist: ${missing}$`),
    )
    const rwMissing = path.join(rw, 'missing')
    await assert.rejects(
      storage.prepare(input({ SourcePath: rwMissing, ReadWrite: true }), '/u', signal),
      /does not exist/,
    )
    await assert.rejects(
      storage.prepare(input({ SourcePath: rwMissing, ReadWrite: false, CreateAs: 'dir' }), '/u', signal),
      /does not exist/,
    )
    assert.equal(fs.existsSync(rwMissing), false)
  })

  it('creates a directory with CreateAs dir', async () => {
    const dir = path.join(rw, 'new', 'nested')
    const src = input({ SourcePath: dir, ReadWrite: true, CreateAs: 'dir' })
    assert.equal(storage.validate(src), undefined)
    const p = await storage.prepare(src, '/unused', signal)
    assert.deepEqual(p, { hostPath: dir, target: '/mnt/in', readOnly: false })
    assert.ok(fs.statSync(dir).isDirectory())
  })

  it('creates an empty file with CreateAs file, keeping an existing one', async () => {
    const file = path.join(rw, 'files', 'out.txt')
    const src = input({ SourcePath: file, ReadWrite: 'true', CreateAs: 'file' })
    const p = await storage.prepare(src, '/unused', signal)
    assert.equal(p.hostPath, file)
    assert.ok(fs.statSync(file).isFile())
    assert.equal(fs.statSync(file).size, 0)
    fs.writeFileSync(file, 'kept')
    await storage.prepare(src, '/unused', signal)
    assert.equal(fs.readFileSync(file, 'utf8'), 'kept')
  })

  it('never creates through a symlink that leads outside', async () => {
    const src = input({ SourcePath: path.join(rw, 'to-ro', 'made'), ReadWrite: true, CreateAs: 'dir' })
    await assert.rejects(storage.prepare(src, '/unused', signal), /does not allow read-write/)
    assert.equal(fs.existsSync(path.join(ro, 'sub', 'made')), false)
    const dangling = input({ SourcePath: path.join(rw, 'dangling'), ReadWrite: true, CreateAs: 'file' })
    assert.match(storage.validate(dangling) ?? '', /dangling symbolic link/)
    await assert.rejects(storage.prepare(dangling, '/unused', signal), /dangling symbolic link/)
    assert.equal(fs.existsSync(path.join(outside, 'not-yet')), false)
  })

  it('rejects bad ReadWrite and CreateAs values', () => {
    assert.match(
      storage.validate(input({ SourcePath: rw, ReadWrite: 'yes' })) ?? '',
      /ReadWrite must be a boolean/,
    )
    assert.match(
      storage.validate(input({ SourcePath: rw, CreateAs: 'folder' })) ?? '',
      /CreateAs must be one of/,
    )
    assert.equal(storage.validate(input({ SourcePath: rw, CreateAs: 'NOCREATE' })), undefined)
  })

  it('matches allow-list entries through a symlinked allowed directory', async () => {
    const alias = path.join(root, 'alias')
    fs.symlinkSync(ro, alias)
    const viaAlias = new LocalStorage([`${alias}/**`])
    const p = await viaAlias.prepare(input({ SourcePath: path.join(alias, 'file.txt') }), '/unused', signal)
    assert.equal(p.hostPath, path.join(ro, 'file.txt'))
    // The real path is what counts, so the alias does not open the symlink's escape either.
    assert.match(viaAlias.validate(input({ SourcePath: path.join(alias, 'escape') })) ?? '', /does not allow/)
  })

  it('rejects malformed allow-list entries at construction', () => {
    assert.throws(() => new LocalStorage(['relative/path']), /AllowListedLocalPaths.*absolute/)
  })
})
