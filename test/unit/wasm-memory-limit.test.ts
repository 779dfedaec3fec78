// applyMemoryCap: the binary rewrite behind the WASM executor's memory limit, checked
// through what V8 then enforces.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { MemoryLimitError, applyMemoryCap, capToPages } from '../../src/executors/wasm/memory-limit.js'
import { Wasm, type WasmMemory } from '../../src/executors/wasm/wasm-api.js'
import { projectRoot } from '../../src/util/paths.js'

const fixture = (name: string): Uint8Array =>
  fs.readFileSync(path.join(projectRoot(), 'fixtures', 'wasm', `${name}.wasm`))

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]
const str = (s: string): number[] => [s.length, ...Buffer.from(s)]

/** A module that only imports env.memory with the given limits (and a function import before it). */
function importsMemory(limits: number[]): Uint8Array {
  const types = [0x01, 0x04, 0x01, 0x60, 0x00, 0x00] // one type: () -> ()
  const imports = [
    0x02,
    ...str('env'),
    ...str('f'),
    0x00,
    0x00,
    ...str('env'),
    ...str('memory'),
    0x02,
    ...limits,
  ]
  return Uint8Array.from([...HEADER, ...types, 0x02, imports.length, ...imports])
}

const noop = (): void => undefined

describe('applyMemoryCap', () => {
  it('rounds bytes up to 64 KiB pages and clamps to 4 GiB', () => {
    assert.equal(capToPages(1), 1)
    assert.equal(capToPages(65536), 1)
    assert.equal(capToPages(65537), 2)
    assert.equal(capToPages(512_000_000), 7813)
    assert.equal(capToPages(16 * 2 ** 30), 65536)
  })

  it('gives a defined memory a maximum that memory.grow cannot pass', () => {
    const capped = applyMemoryCap(fixture('mathlib'), 4)
    const inst = new Wasm.Instance(new Wasm.Module(capped), {})
    const mem = inst.exports.memory as WasmMemory
    const initial = mem.buffer.byteLength / 65536
    assert.ok(initial <= 4)
    assert.equal(mem.grow(4 - initial), initial)
    assert.throws(() => mem.grow(1), RangeError)

    const free = new Wasm.Instance(new Wasm.Module(fixture('mathlib')), {}).exports.memory as WasmMemory
    assert.doesNotThrow(() => free.grow(8))
    assert.equal((inst.exports.add as (a: number, b: number) => number)(2, 3), 5)
  })

  it('lowers an existing larger maximum but keeps a smaller one', () => {
    const withMax = importsMemory([0x01, 0x01, 0x10]) // min 1, max 16
    const capped = new Wasm.Module(applyMemoryCap(withMax, 4))
    const link = (m: WasmMemory) => new Wasm.Instance(capped, { env: { f: noop, memory: m } })
    assert.doesNotThrow(() => link(new Wasm.Memory({ initial: 1, maximum: 4 })))
    assert.throws(() => link(new Wasm.Memory({ initial: 1, maximum: 8 })), Wasm.LinkError)

    const small = new Wasm.Module(applyMemoryCap(importsMemory([0x01, 0x01, 0x02]), 4)) // max 2 stays
    assert.throws(
      () =>
        new Wasm.Instance(small, { env: { f: noop, memory: new Wasm.Memory({ initial: 1, maximum: 4 }) } }),
      Wasm.LinkError,
    )
  })

  it('caps an imported memory that had no maximum', () => {
    const original = new Wasm.Module(importsMemory([0x00, 0x01]))
    const unbounded = new Wasm.Memory({ initial: 1 })
    assert.doesNotThrow(() => new Wasm.Instance(original, { env: { f: noop, memory: unbounded } }))
    const capped = new Wasm.Module(applyMemoryCap(importsMemory([0x00, 0x01]), 4))
    assert.throws(() => new Wasm.Instance(capped, { env: { f: noop, memory: unbounded } }), Wasm.LinkError)
  })

  it('refuses a module whose initial memory is above the cap', () => {
    assert.throws(
      () => applyMemoryCap(importsMemory([0x00, 0x08]), 4, 'module X'),
      (err: unknown) =>
        err instanceof MemoryLimitError &&
        err.message === 'module X needs 512 KiB of initial memory, more than the memory limit of 256 KiB',
    )
    assert.throws(() => applyMemoryCap(fixture('hello'), 1), MemoryLimitError)
  })

  it('leaves modules without memories untouched and rejects non-wasm bytes', () => {
    const bare = Uint8Array.from(HEADER)
    assert.equal(applyMemoryCap(bare, 4), bare)
    assert.throws(() => applyMemoryCap(Buffer.from('#!/bin/sh\n'), 4), /not a WebAssembly module/)
  })

  it('keeps every fixture valid and runnable after the rewrite', () => {
    for (const f of fs
      .readdirSync(path.join(projectRoot(), 'fixtures', 'wasm'))
      .filter((n) => n.endsWith('.wasm'))) {
      const name = f.replace(/\.wasm$/, '')
      const before = Wasm.Module.imports(new Wasm.Module(fixture(name)))
      const after = Wasm.Module.imports(new Wasm.Module(applyMemoryCap(fixture(name), 1024)))
      assert.deepEqual(after, before, f)
    }
  })
})
