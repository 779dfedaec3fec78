// detectGpus: tool lookup, failure isolation per vendor, Intel's two-step query, timeouts.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  detectGpus,
  findOnPath,
  makeDefaultRun,
  type GpuLogger,
  type RunFn,
  type RunResult,
} from '../../src/compute/gpu/detect.js'
import type { Logger } from '../../src/util/logger.js'
import { projectRoot } from '../../src/util/paths.js'

const fixture = (name: string) =>
  fs.readFileSync(path.join(projectRoot(), 'test', 'fixtures', 'gpu', name), 'utf8')

type Line = { level: 'warn' | 'debug'; obj: Record<string, unknown>; msg: string }
function recorder(): GpuLogger & { lines: Line[]; warns: () => Line[] } {
  const lines: Line[] = []
  return {
    lines,
    warns: () => lines.filter((l) => l.level === 'warn'),
    warn: (obj, msg) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
    debug: (obj, msg) => lines.push({ level: 'debug', obj: obj as Record<string, unknown>, msg }),
  }
}

const ok = (stdout: string): RunResult => ({ code: 0, stdout })

/** A fake host: maps "tool args…" to a result; anything unlisted is "command not found". */
function fakeHost(table: Record<string, RunResult | (() => Promise<RunResult>)>) {
  const calls: string[] = []
  const run: RunFn = async (cmd, args) => {
    const key = [cmd, ...args].join(' ')
    calls.push(key)
    const hit = table[key]
    if (hit === undefined) return { code: 127, stdout: '' }
    return typeof hit === 'function' ? hit() : hit
  }
  return { run, calls }
}

const NV = 'nvidia-smi --query-gpu=index,gpu_name,memory.total,pci.bus_id --format=csv,noheader,nounits'
const AMD = 'rocm-smi --showproductname --showbus --showmeminfo vram --json'
const XPU = 'xpu-smi discovery --json'

describe('detectGpus with an injected run', () => {
  it('finds nothing, silently, when no tool is installed', async () => {
    const log = recorder()
    const host = fakeHost({})
    assert.deepEqual(await detectGpus({ run: host.run, logger: log }), [])
    assert.deepEqual(log.warns(), [])
    assert.deepEqual(host.calls.sort(), [AMD, NV, XPU].sort())
  })

  it('does not run tools the lookup cannot find', async () => {
    const log = recorder()
    const host = fakeHost({ [NV]: ok(fixture('nvidia-smi-t4.csv')) })
    const gpus = await detectGpus({ run: host.run, which: () => null, logger: log })
    assert.deepEqual(host.calls, [])
    assert.deepEqual(gpus, [])
    assert.deepEqual(log.warns(), [])
  })

  it('runs the tool at the path the lookup returned', async () => {
    const host = fakeHost({
      [`/opt/bin/nvidia-smi ${NV.slice('nvidia-smi '.length)}`]: ok(fixture('nvidia-smi-t4.csv')),
    })
    const gpus = await detectGpus({
      run: host.run,
      which: (c) => (c === 'nvidia-smi' ? '/opt/bin/nvidia-smi' : null),
      logger: recorder(),
    })
    assert.equal(gpus.length, 1)
    assert.equal(gpus[0].Name, 'Tesla T4')
  })

  it('concatenates NVIDIA, AMD, Intel in that order, keeping each tool’s indexes', async () => {
    const log = recorder()
    const host = fakeHost({
      [XPU]: ok(fixture('xpu-smi-discovery-flex140.json')),
      [`${XPU} --device 0`]: ok(fixture('xpu-smi-device-0-flex140.json')),
      [`${XPU} --device 1`]: ok(fixture('xpu-smi-device-1-flex140.json')),
      [AMD]: ok(fixture('rocm-smi-mi210-rocm5.json')),
      [NV]: ok(fixture('nvidia-smi-workstation-crlf.csv')),
    })
    const gpus = await detectGpus({ run: host.run, logger: log })
    assert.deepEqual(
      gpus.map((g) => [g.Vendor, g.Index, g.Memory, g.PCIAddress]),
      [
        ['NVIDIA', 0, 24564, '0000:01:00.0'],
        ['NVIDIA', 1, 46068, '0000:52:00.0'],
        ['AMD/ATI', 0, 65520, '0000:e7:00.0'],
        ['AMD/ATI', 1, 65520, '0000:63:00.0'],
        ['Intel', 0, 5068, '0000:e9:00.0'],
        ['Intel', 1, 5068, '0000:ea:00.0'],
      ],
    )
    assert.deepEqual(log.warns(), [])
  })

  it('warns and drops only the vendor whose tool exits non-zero', async () => {
    const log = recorder()
    const host = fakeHost({
      [NV]: { code: 9, stdout: fixture('nvidia-smi-driver-failed.txt') },
      [AMD]: ok(fixture('rocm-smi-rx7900-apu-rocm6.json')),
    })
    const gpus = await detectGpus({ run: host.run, logger: log })
    assert.deepEqual(
      gpus.map((g) => g.Name),
      ['Radeon RX 7900 XT', 'Raphael'],
    )
    const [w] = log.warns()
    assert.equal(log.warns().length, 1)
    assert.equal(w.obj.tool, 'nvidia-smi')
    assert.match(String(w.obj.err), /nvidia-smi: exited with code 9/)
    assert.match(String(w.obj.stdout), /couldn't communicate with the NVIDIA driver/)
    assert.match(w.msg, /cannot inspect NVIDIA GPUs/)
  })

  it('warns and drops the vendor whose output is garbage', async () => {
    const log = recorder()
    const host = fakeHost({
      [NV]: ok(fixture('nvidia-smi-gpu-lost.txt')),
      [AMD]: ok(fixture('rocm-smi-driver-not-initialized.txt')),
      [XPU]: ok('\u0000\u0001binary junk'),
    })
    assert.deepEqual(await detectGpus({ run: host.run, logger: log }), [])
    const warned = log.warns().map((w) => [String(w.obj.tool), String(w.obj.err)])
    assert.equal(warned.length, 3)
    assert.match(warned.find(([t]) => t === 'nvidia-smi')![1], /^nvidia-smi: line 2: expected 4 fields/)
    assert.match(warned.find(([t]) => t === 'rocm-smi')![1], /^rocm-smi: output is not JSON/)
    assert.match(warned.find(([t]) => t === 'xpu-smi')![1], /^xpu-smi: output is not JSON/)
  })

  it('survives a run that throws or rejects', async () => {
    const log = recorder()
    const run: RunFn = async (cmd) => {
      if (cmd === 'rocm-smi') throw new Error('spawn EACCES')
      return { code: 127, stdout: '' }
    }
    assert.deepEqual(await detectGpus({ run, logger: log }), [])
    assert.equal(log.warns().length, 1)
    assert.match(String(log.warns()[0].obj.err), /rocm-smi: spawn EACCES/)
  })

  it('survives a lookup that throws', async () => {
    const log = recorder()
    const gpus = await detectGpus({
      run: fakeHost({}).run,
      which: () => {
        throw new Error('EPERM')
      },
      logger: log,
    })
    assert.deepEqual(gpus, [])
    assert.equal(log.warns().length, 3)
  })

  it('times out a hung tool without losing the others', async () => {
    const log = recorder()
    const host = fakeHost({
      [AMD]: () => new Promise<RunResult>(() => {}),
      [NV]: ok(fixture('nvidia-smi-t4.csv')),
    })
    const started = Date.now()
    const gpus = await detectGpus({ run: host.run, logger: log, timeoutMs: 100 })
    assert.ok(Date.now() - started < 2000)
    assert.deepEqual(
      gpus.map((g) => g.Name),
      ['Tesla T4'],
    )
    assert.equal(log.warns().length, 1)
    assert.match(String(log.warns()[0].obj.err), /rocm-smi: timed out after 100 ms/)
  })

  it('reports a run that says it timed out', async () => {
    const log = recorder()
    const host = fakeHost({ [NV]: { code: -1, stdout: '', timedOut: true } })
    assert.deepEqual(await detectGpus({ run: host.run, logger: log, timeoutMs: 5000 }), [])
    assert.match(String(log.warns()[0].obj.err), /nvidia-smi: timed out after 5000 ms/)
  })

  it('drops all Intel GPUs when a per-device query fails', async () => {
    const log = recorder()
    const host = fakeHost({
      [XPU]: ok(fixture('xpu-smi-discovery-flex140.json')),
      [`${XPU} --device 0`]: ok(fixture('xpu-smi-device-0-flex140.json')),
      [`${XPU} --device 1`]: ok(fixture('xpu-smi-error.json')),
      [NV]: ok(fixture('nvidia-smi-t4.csv')),
    })
    const gpus = await detectGpus({ run: host.run, logger: log })
    assert.deepEqual(
      gpus.map((g) => g.Vendor),
      ['NVIDIA'],
    )
    assert.equal(log.warns().length, 1)
    assert.equal(log.warns()[0].obj.tool, 'xpu-smi')
    assert.match(String(log.warns()[0].obj.err), /Level Zero Initialization Error/)
  })

  it('makes no per-device Intel calls when the listing is empty or carries memory', async () => {
    const none = fakeHost({ [XPU]: ok(fixture('xpu-smi-discovery-none.json')) })
    assert.deepEqual(await detectGpus({ run: none.run, logger: recorder() }), [])
    assert.equal(none.calls.filter((c) => c.includes('--device')).length, 0)

    const withMem = fakeHost({
      [XPU]: ok(
        '{"device_list":[{"device_id":3,"device_name":"Intel(R) Data Center GPU Max 1100","pci_bdf_address":"0000:29:00.0","memory_physical_size_byte":"51539607552"}]}',
      ),
    })
    const gpus = await detectGpus({ run: withMem.run, logger: recorder() })
    assert.deepEqual(gpus, [
      {
        Index: 3,
        Name: 'Intel(R) Data Center GPU Max 1100',
        Vendor: 'Intel',
        Memory: 49152,
        PCIAddress: '0000:29:00.0',
      },
    ])
    assert.equal(withMem.calls.filter((c) => c.includes('--device')).length, 0)
  })

  it('takes a pino logger', async () => {
    const { pino } = await import('pino')
    const logger: Logger = pino({ level: 'silent' })
    assert.deepEqual(await detectGpus({ run: fakeHost({}).run, logger }), [])
  })
})

describe('detectGpus with real processes', { skip: process.platform === 'win32' }, () => {
  let dir: string
  const tool = (name: string, script: string) => {
    const file = path.join(dir, name)
    fs.writeFileSync(file, `#!/bin/sh\n${script}\n`, { mode: 0o755 })
    return file
  }

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-detect-'))
  })
  after(() => fs.rmSync(dir, { recursive: true, force: true }))

  it('findOnPath finds executables only', () => {
    const exe = tool('nvidia-smi', 'exit 0')
    fs.writeFileSync(path.join(dir, 'rocm-smi'), 'not executable', { mode: 0o644 })
    fs.mkdirSync(path.join(dir, 'xpu-smi'), { recursive: true })
    const p = `/nonexistent${path.delimiter}${dir}`
    assert.equal(findOnPath('nvidia-smi', p), exe)
    assert.equal(findOnPath('rocm-smi', p), null)
    assert.equal(findOnPath('xpu-smi', p), null)
    assert.equal(findOnPath('nvidia-smi', ''), null)
    assert.equal(findOnPath(exe, ''), exe)
    fs.rmSync(path.join(dir, 'rocm-smi'))
    fs.rmSync(path.join(dir, 'xpu-smi'), { recursive: true })
  })

  it('runs tools found on the given PATH with the Bacalhau arguments', async () => {
    const argsFile = path.join(dir, 'args.txt')
    const csv = path.join(projectRoot(), 'test', 'fixtures', 'gpu', 'nvidia-smi-h100x8.csv')
    tool('nvidia-smi', `printf '%s\\n' "$@" > '${argsFile}'\ncat '${csv}'`)
    const log = recorder()
    const gpus = await detectGpus({ searchPath: dir, logger: log })
    assert.equal(gpus.length, 8)
    assert.equal(gpus[7].PCIAddress, '0000:db:00.0')
    assert.deepEqual(fs.readFileSync(argsFile, 'utf8').trim().split('\n'), [
      '--query-gpu=index,gpu_name,memory.total,pci.bus_id',
      '--format=csv,noheader,nounits',
    ])
    assert.deepEqual(log.warns(), [])
  })

  it('kills a hung tool at the timeout', async () => {
    tool('nvidia-smi', 'exec sleep 30')
    const log = recorder()
    const started = Date.now()
    assert.deepEqual(await detectGpus({ searchPath: dir, logger: log, timeoutMs: 300 }), [])
    assert.ok(Date.now() - started < 5000)
    assert.match(String(log.warns()[0].obj.err), /nvidia-smi: timed out after 300 ms/)
  })

  it('default run reports exit codes, stdout, and absent commands as 127', async () => {
    const exe = tool('failing', 'echo "No devices were found"; exit 6')
    const run = makeDefaultRun(2000)
    assert.deepEqual(await run(exe, []), {
      code: 6,
      stdout: 'No devices were found\n',
      stderr: '',
      timedOut: false,
    })
    assert.equal((await run(path.join(dir, 'absent-tool'), [])).code, 127)
    assert.deepEqual(await run(tool('good', 'echo "$1"'), ['x']), { code: 0, stdout: 'x\n', stderr: '' })
  })

  it('finds nothing on a PATH without the tools', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-empty-'))
    try {
      const log = recorder()
      assert.deepEqual(await detectGpus({ searchPath: empty, logger: log }), [])
      assert.deepEqual(log.warns(), [])
    } finally {
      fs.rmSync(empty, { recursive: true, force: true })
    }
  })
})
