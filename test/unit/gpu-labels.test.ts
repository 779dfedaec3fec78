// Node labels from the GPU inventory (bacalhau-api.md §2.10).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { gpuLabels } from '../../src/compute/gpu/labels.js'
import type { GpuInfo } from '../../src/compute/gpu/types.js'

const gpu = (Index: number, Name: string, Memory: number, Vendor: GpuInfo['Vendor'] = 'NVIDIA'): GpuInfo => ({
  Index,
  Name,
  Vendor,
  Memory,
  PCIAddress: '',
})

describe('gpuLabels', () => {
  it('labels model and memory the way Bacalhau does', () => {
    assert.deepEqual(gpuLabels([gpu(0, 'Tesla T4', 15360)]), {
      'GPU-0': 'Tesla-T4',
      'GPU-0-Memory': '15360-MiB',
    })
  })

  it('numbers by list position, not by the tools’ repeating indexes', () => {
    const labels = gpuLabels([
      gpu(0, 'NVIDIA H100 80GB HBM3', 81559),
      gpu(0, 'AMD Instinct MI300X VF', 196288, 'AMD/ATI'),
      gpu(1, 'Intel Corporation Device 56c1 (rev 05)', 5068, 'Intel'),
    ])
    assert.deepEqual(labels, {
      'GPU-0': 'NVIDIA-H100-80GB-HBM3',
      'GPU-0-Memory': '81559-MiB',
      'GPU-1': 'AMD-Instinct-MI300X-VF',
      'GPU-1-Memory': '196288-MiB',
      'GPU-2': 'Intel-Corporation-Device-56c1-(rev-05)',
      'GPU-2-Memory': '5068-MiB',
    })
  })

  it('replaces every space, and only spaces', () => {
    assert.equal(gpuLabels([gpu(0, 'A  B\tC', 1)])['GPU-0'], 'A--B\tC')
  })

  it('writes 0-MiB for unknown memory and nothing for no GPUs', () => {
    assert.equal(gpuLabels([gpu(0, 'NVIDIA GB10', 0)])['GPU-0-Memory'], '0-MiB')
    assert.deepEqual(gpuLabels([]), {})
  })
})
