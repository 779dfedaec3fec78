// Vendor tool parsers against recorded outputs (test/fixtures/gpu, provenance in its README).
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'
import { parseNvidiaSmi } from '../../src/compute/gpu/nvidia.js'
import { parseRocmSmi } from '../../src/compute/gpu/amd.js'
import {
  parseXpuSmiDevice,
  parseXpuSmiDiscovery,
  parseXpuSmiDiscoveryRecords,
} from '../../src/compute/gpu/intel.js'
import { normalizePciAddress } from '../../src/compute/gpu/pci.js'
import { projectRoot } from '../../src/util/paths.js'

const fixture = (name: string) =>
  fs.readFileSync(path.join(projectRoot(), 'test', 'fixtures', 'gpu', name), 'utf8')

describe('normalizePciAddress', () => {
  it('shortens nvidia-smi 8-digit domains and lower-cases', () => {
    assert.equal(normalizePciAddress('00000000:3B:00.0', 't'), '0000:3b:00.0')
    assert.equal(normalizePciAddress('0000000F:01:00.0', 't'), '000f:01:00.0')
  })

  it('keeps sysfs spelling as is and lower-cases rocm-smi upper case', () => {
    assert.equal(normalizePciAddress('0000:4d:00.0', 't'), '0000:4d:00.0')
    assert.equal(normalizePciAddress('0000:E7:00.0', 't'), '0000:e7:00.0')
    assert.equal(normalizePciAddress('  0000:C1:00.7 ', 't'), '0000:c1:00.7')
  })

  it('keeps domains wider than 16 bits whole, as sysfs does', () => {
    assert.equal(normalizePciAddress('00010000:01:00.0', 't'), '10000:01:00.0')
  })

  it('defaults a missing domain to 0000', () => {
    assert.equal(normalizePciAddress('3b:00.0', 't'), '0000:3b:00.0')
  })

  it('maps not-available markers to empty', () => {
    for (const v of ['', '[N/A]', 'N/A', '[Not Supported]', 'unknown'])
      assert.equal(normalizePciAddress(v, 't'), '')
  })

  it('rejects anything else, naming the tool', () => {
    for (const v of ['GPU-1234', '0000:3b:00', '0000:3b:00.8', 'zz:00.0', '000000000:3b:00.0'])
      assert.throws(() => normalizePciAddress(v, 'nvidia-smi'), /^Error: nvidia-smi: invalid PCI address/, v)
  })
})

describe('parseNvidiaSmi', () => {
  it('parses an 8 × H100 node', () => {
    const gpus = parseNvidiaSmi(fixture('nvidia-smi-h100x8.csv'))
    assert.equal(gpus.length, 8)
    assert.deepEqual(gpus[0], {
      Index: 0,
      Name: 'NVIDIA H100 80GB HBM3',
      Vendor: 'NVIDIA',
      Memory: 81559,
      PCIAddress: '0000:19:00.0',
    })
    assert.deepEqual(
      gpus.map((g) => g.PCIAddress),
      ['19', '3b', '4c', '5d', '9b', 'bb', 'cb', 'db'].map((b) => `0000:${b}:00.0`),
    )
    assert.deepEqual(
      gpus.map((g) => g.Index),
      [0, 1, 2, 3, 4, 5, 6, 7],
    )
  })

  it('parses a single T4', () => {
    assert.deepEqual(parseNvidiaSmi(fixture('nvidia-smi-t4.csv')), [
      { Index: 0, Name: 'Tesla T4', Vendor: 'NVIDIA', Memory: 15360, PCIAddress: '0000:00:1e.0' },
    ])
  })

  it('handles CRLF line ends and mixed models', () => {
    const gpus = parseNvidiaSmi(fixture('nvidia-smi-workstation-crlf.csv'))
    assert.deepEqual(
      gpus.map((g) => [g.Index, g.Name, g.Memory, g.PCIAddress]),
      [
        [0, 'NVIDIA GeForce RTX 4090', 24564, '0000:01:00.0'],
        [1, 'NVIDIA RTX A6000', 46068, '0000:52:00.0'],
      ],
    )
  })

  it('keeps a unified-memory GB10 with Memory 0 and its non-zero domain', () => {
    assert.deepEqual(parseNvidiaSmi(fixture('nvidia-smi-gb10.csv')), [
      { Index: 0, Name: 'NVIDIA GB10', Vendor: 'NVIDIA', Memory: 0, PCIAddress: '000f:01:00.0' },
    ])
  })

  it('reads quoted names holding commas and quotes', () => {
    const gpus = parseNvidiaSmi(fixture('nvidia-smi-quoted.csv'))
    assert.equal(gpus[0].Name, 'NVIDIA A100-SXM4-40GB, "rev B"')
    assert.equal(gpus[0].Memory, 40960)
    assert.equal(gpus[1].Name, 'NVIDIA A100-SXM4-40GB')
    assert.equal(gpus[1].PCIAddress, '0000:0f:00.0')
  })

  it('accepts the 3-field form of older Bacalhau queries', () => {
    assert.deepEqual(parseNvidiaSmi('0, Tesla T4, 15360\n1, Tesla T1, 12345\n'), [
      { Index: 0, Name: 'Tesla T4', Vendor: 'NVIDIA', Memory: 15360, PCIAddress: '' },
      { Index: 1, Name: 'Tesla T1', Vendor: 'NVIDIA', Memory: 12345, PCIAddress: '' },
    ])
  })

  it('returns no GPUs for empty output', () => {
    assert.deepEqual(parseNvidiaSmi(''), [])
    assert.deepEqual(parseNvidiaSmi('\n\n'), [])
  })

  it('rejects the driver-failure and no-device messages', () => {
    assert.throws(
      () => parseNvidiaSmi(fixture('nvidia-smi-driver-failed.txt')),
      /^Error: nvidia-smi: line 1: expected 4 fields, got 1/,
    )
    assert.throws(
      () => parseNvidiaSmi(fixture('nvidia-smi-no-devices.txt')),
      /^Error: nvidia-smi: line 1: expected 4 fields/,
    )
  })

  it('rejects output with an error line between rows', () => {
    assert.throws(() => parseNvidiaSmi(fixture('nvidia-smi-gpu-lost.txt')), /^Error: nvidia-smi: line 2: /)
  })

  it('names the problem in malformed rows', () => {
    assert.throws(
      () => parseNvidiaSmi('x, Tesla T4, 15360, 00000000:00:1E.0'),
      /nvidia-smi: line 1: invalid index "x"/,
    )
    assert.throws(
      () => parseNvidiaSmi('0, Tesla T4, lots, 00000000:00:1E.0'),
      /nvidia-smi: line 1: invalid memory.total "lots"/,
    )
    assert.throws(() => parseNvidiaSmi('0, , 15360, 00000000:00:1E.0'), /nvidia-smi: line 1: empty GPU name/)
    assert.throws(
      () => parseNvidiaSmi('0, Tesla T4, 15360, bus?'),
      /nvidia-smi: line 1: invalid PCI address "bus\?"/,
    )
    assert.throws(
      () => parseNvidiaSmi('0, "Tesla T4, 15360'),
      /nvidia-smi: line 1: unterminated quoted field/,
    )
    assert.throws(
      () => parseNvidiaSmi('0, Tesla T4, 15360, 00000000:00:1E.0, extra'),
      /expected 4 fields, got 5/,
    )
  })
})

describe('parseRocmSmi', () => {
  it('parses ROCm 5 key spelling (Card series) and lower-cases the bus', () => {
    assert.deepEqual(parseRocmSmi(fixture('rocm-smi-mi210-rocm5.json')), [
      { Index: 0, Name: 'Instinct MI210', Vendor: 'AMD/ATI', Memory: 65520, PCIAddress: '0000:e7:00.0' },
      { Index: 1, Name: 'Instinct MI210', Vendor: 'AMD/ATI', Memory: 65520, PCIAddress: '0000:63:00.0' },
    ])
  })

  it('parses ROCm 6 key spelling (Card Series), including an APU carve-out', () => {
    assert.deepEqual(parseRocmSmi(fixture('rocm-smi-rx7900-apu-rocm6.json')), [
      { Index: 0, Name: 'Radeon RX 7900 XT', Vendor: 'AMD/ATI', Memory: 20464, PCIAddress: '0000:03:00.0' },
      { Index: 1, Name: 'Raphael', Vendor: 'AMD/ATI', Memory: 64, PCIAddress: '0000:7c:00.0' },
    ])
  })

  it('skips the low-power warning printed before the JSON', () => {
    const gpus = parseRocmSmi(fixture('rocm-smi-mi300x-preamble.txt'))
    assert.equal(gpus.length, 8)
    assert.ok(gpus.every((g) => g.Name === 'AMD Instinct MI300X VF' && g.Memory === 196288))
    assert.deepEqual(
      gpus.map((g) => g.Index),
      [0, 1, 2, 3, 4, 5, 6, 7],
    )
    assert.equal(gpus[5].PCIAddress, '0000:a6:00.0')
  })

  it('orders cards numerically and ignores non-card sections', () => {
    const out = JSON.stringify({
      card10: { 'Card Series': 'c', 'PCI Bus': '0000:0C:00.0' },
      system: { 'Driver version': '6.7.0' },
      card2: { 'Card Series': 'b', 'PCI Bus': '0000:0B:00.0' },
      card0: { 'Card Series': 'a', 'PCI Bus': '0000:0A:00.0' },
    })
    const gpus = parseRocmSmi(out)
    assert.deepEqual(
      gpus.map((g) => [g.Index, g.Name]),
      [
        [0, 'a'],
        [2, 'b'],
        [10, 'c'],
      ],
    )
  })

  it('tolerates a card without bus, memory or series (older rocm-smi, VFs)', () => {
    assert.deepEqual(parseRocmSmi('{"card0": {"Card Model": "0x0c34", "VRAM Total Memory (B)": "N/A"}}'), [
      { Index: 0, Name: '0x0c34', Vendor: 'AMD/ATI', Memory: 0, PCIAddress: '' },
    ])
    assert.deepEqual(parseRocmSmi('{"card0": {}}'), [
      { Index: 0, Name: '', Vendor: 'AMD/ATI', Memory: 0, PCIAddress: '' },
    ])
  })

  it('reads numeric JSON values as well as strings', () => {
    const [g] = parseRocmSmi('{"card0": {"Card Series": "X", "VRAM Total Memory (B)": 17163091968}}')
    assert.equal(g.Memory, 16368)
  })

  it('returns no GPUs for "No JSON data to report" and for {}', () => {
    assert.deepEqual(parseRocmSmi(fixture('rocm-smi-no-json-data.txt')), [])
    assert.deepEqual(parseRocmSmi('{}'), [])
  })

  it('rejects non-JSON output, naming the tool', () => {
    assert.throws(
      () => parseRocmSmi(fixture('rocm-smi-driver-not-initialized.txt')),
      /^Error: rocm-smi: output is not JSON: "ERROR:root:Driver not initialized/,
    )
    assert.throws(() => parseRocmSmi(''), /^Error: rocm-smi: output is not JSON/)
    assert.throws(() => parseRocmSmi('{"card0": {'), /^Error: rocm-smi: malformed JSON output/)
  })

  it('rejects JSON of the wrong shape', () => {
    assert.throws(() => parseRocmSmi('[1, 2]'), /rocm-smi: expected a JSON object keyed by card/)
    assert.throws(() => parseRocmSmi('{"card0": "Instinct"}'), /rocm-smi: card0: expected an object/)
    assert.throws(
      () => parseRocmSmi('{"card0": {"VRAM Total Memory (B)": "lots"}}'),
      /rocm-smi: card0: invalid VRAM Total Memory \(B\) "lots"/,
    )
    assert.throws(
      () => parseRocmSmi('{"card0": {"PCI Bus": "nowhere"}}'),
      /rocm-smi: card0: invalid PCI address "nowhere"/,
    )
  })
})

describe('xpu-smi parsers', () => {
  it('lists devices without memory', () => {
    assert.deepEqual(parseXpuSmiDiscovery(fixture('xpu-smi-discovery-flex140.json')), [
      {
        Index: 0,
        Name: 'Intel Corporation Device 56c1 (rev 05)',
        Vendor: 'Intel',
        Memory: 0,
        PCIAddress: '0000:e9:00.0',
      },
      {
        Index: 1,
        Name: 'Intel Corporation Device 56c1 (rev 05)',
        Vendor: 'Intel',
        Memory: 0,
        PCIAddress: '0000:ea:00.0',
      },
    ])
    assert.deepEqual(
      parseXpuSmiDiscoveryRecords(fixture('xpu-smi-discovery-flex140.json')).map((r) => r.hasMemory),
      [false, false],
    )
  })

  it('parses per-device detail with memory', () => {
    assert.deepEqual(parseXpuSmiDevice(fixture('xpu-smi-device-1-flex140.json')), {
      Index: 1,
      Name: 'Intel Corporation Device 56c1 (rev 05)',
      Vendor: 'Intel',
      Memory: 5068,
      PCIAddress: '0000:ea:00.0',
    })
    assert.equal(parseXpuSmiDevice(fixture('xpu-smi-device-0-pvc.json')).Memory, 32768)
  })

  it('uses memory when the listing carries it', () => {
    const list =
      '{"device_list":[{"device_id":0,"device_name":"Intel(R) Data Center GPU Max 1100","pci_bdf_address":"0000:29:00.0","memory_physical_size_byte":"51539607552"}]}'
    const [r] = parseXpuSmiDiscoveryRecords(list)
    assert.equal(r.hasMemory, true)
    assert.equal(r.gpu.Memory, 49152)
  })

  it('returns no devices for an empty list', () => {
    assert.deepEqual(parseXpuSmiDiscovery(fixture('xpu-smi-discovery-none.json')), [])
  })

  it('surfaces xpu-smi JSON errors', () => {
    assert.throws(
      () => parseXpuSmiDiscovery(fixture('xpu-smi-error.json')),
      /^Error: xpu-smi: reported an error: Level Zero Initialization Error \(errno 3\)/,
    )
    assert.throws(() => parseXpuSmiDevice(fixture('xpu-smi-error.json')), /xpu-smi: reported an error/)
  })

  it('rejects malformed output, naming the tool', () => {
    assert.throws(() => parseXpuSmiDiscovery('Segmentation fault'), /^Error: xpu-smi: output is not JSON/)
    assert.throws(() => parseXpuSmiDiscovery('{"devices": []}'), /xpu-smi: missing device_list/)
    assert.throws(
      () => parseXpuSmiDiscovery('{"device_list": [{"device_name": "x"}]}'),
      /xpu-smi: device_list\[0\]: missing device_id/,
    )
    assert.throws(
      () => parseXpuSmiDiscovery('{"device_list": [{"device_id": -1}]}'),
      /xpu-smi: device_list\[0\]: invalid device_id -1/,
    )
    assert.throws(
      () => parseXpuSmiDevice('{"device_id": 0, "device_name": "x"}'),
      /xpu-smi: device 0: missing memory_physical_size_byte/,
    )
    assert.throws(
      () => parseXpuSmiDevice('{"device_id": 0, "memory_physical_size_byte": "5 GB"}'),
      /xpu-smi: device: invalid memory_physical_size_byte "5 GB"/,
    )
  })
})
