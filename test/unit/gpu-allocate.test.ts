// Compute.AllocatedCapacity.GPU (bacalhau-behaviour.md §2.2) and MaxCapacity.GPUs selection.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { allocatedGpuCount, selectGpus } from '../../src/compute/gpu/allocate.js'
import type { GpuInfo } from '../../src/compute/gpu/types.js'

describe('allocatedGpuCount', () => {
  it('takes a percentage of the total, rounding down', () => {
    assert.equal(allocatedGpuCount('100%', 8), 8)
    assert.equal(allocatedGpuCount('50%', 8), 4)
    assert.equal(allocatedGpuCount('50%', 3), 1)
    assert.equal(allocatedGpuCount('70%', 4), 2)
    assert.equal(allocatedGpuCount('99.9%', 8), 7)
    assert.equal(allocatedGpuCount(' 75% ', 4), 3)
  })

  it('never rounds a positive percentage of present GPUs down to none', () => {
    assert.equal(allocatedGpuCount('50%', 1), 1)
    assert.equal(allocatedGpuCount('1%', 8), 1)
    assert.equal(allocatedGpuCount('0.5%', 1), 1)
  })

  it('gives none for 0% or when there is no GPU', () => {
    assert.equal(allocatedGpuCount('0%', 4), 0)
    assert.equal(allocatedGpuCount('100%', 0), 0)
    assert.equal(allocatedGpuCount('50%', 0), 0)
  })

  it('does exact integer percentages without binary rounding loss', () => {
    assert.equal(allocatedGpuCount('57%', 100), 57)
    assert.equal(allocatedGpuCount('29%', 100), 29)
  })

  it('uses absolute counts as given, capped at the total', () => {
    assert.equal(allocatedGpuCount('2', 8), 2)
    assert.equal(allocatedGpuCount('0', 8), 0)
    assert.equal(allocatedGpuCount('8', 8), 8)
    assert.equal(allocatedGpuCount('16', 8), 8)
    assert.equal(allocatedGpuCount('1', 0), 0)
  })

  it('treats an empty setting as none', () => {
    assert.equal(allocatedGpuCount('', 4), 0)
    assert.equal(allocatedGpuCount('  ', 4), 0)
  })

  it('rejects bad settings with the config key in the message', () => {
    assert.throws(
      () => allocatedGpuCount('150%', 4),
      /^Error: Compute.AllocatedCapacity.GPU: percentage must be between 0% and 100%, got 150%/,
    )
    for (const bad of ['-1', '1.5', 'two', '%', '50 %', '1e2', '-5%'])
      assert.throws(
        () => allocatedGpuCount(bad, 4),
        /^Error: Compute.AllocatedCapacity.GPU: invalid GPU value/,
        bad,
      )
    assert.throws(() => allocatedGpuCount('1', -1), /detected GPU total must be a non-negative integer/)
    assert.throws(() => allocatedGpuCount('1', 1.5), /detected GPU total/)
  })
})

describe('selectGpus', () => {
  const gpus: GpuInfo[] = [0, 1, 2].map((i) => ({
    Index: i,
    Name: `G${i}`,
    Vendor: 'NVIDIA',
    Memory: 1,
    PCIAddress: `0000:0${i}:00.0`,
  }))

  it('takes the first count GPUs in detection order', () => {
    assert.deepEqual(
      selectGpus(gpus, 2).map((g) => g.Name),
      ['G0', 'G1'],
    )
    assert.deepEqual(selectGpus(gpus, 0), [])
    assert.deepEqual(selectGpus(gpus, 5), gpus)
    assert.deepEqual(selectGpus(gpus, -1), [])
  })

  it('composes with allocatedGpuCount', () => {
    assert.deepEqual(
      selectGpus(gpus, allocatedGpuCount('50%', gpus.length)).map((g) => g.Index),
      [0],
    )
  })

  it('returns a new array', () => {
    const picked = selectGpus(gpus, 3)
    assert.notEqual(picked, gpus)
  })
})
