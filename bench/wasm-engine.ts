// WASM engine benchmark: our executor (browser_wasi_shim in a worker) against node:wasi.
//
//   node dist-wasm/bench/wasm-engine.js [--cpu-n N] [--reps 20]
//
// 1. CPU-bound cpu.wasm, first run in a fresh process for both engines (compile
//    included): V8 leaves a freshly compiled long-running main() in Liftoff unless the
//    module is compiled with TurboFan up front, so this is where the first run is won
//    or lost. node:wasi runs in child processes, once with default flags (what a plain
//    `node` gives) and once with --no-liftoff (its best case).
// 2. hello.wasm: job overhead, median of `reps` end-to-end run() calls against
//    node:wasi reading, compiling, instantiating and starting the same module.
// Prints one JSON object on stdout; progress goes to stderr.
import '../src/polyfills.js'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { WasmExecutor } from '../src/executors/wasm/index.js'
import type { RunRequest } from '../src/executors/types.js'
import { projectRoot } from '../src/util/paths.js'
import { Wasm } from '../src/executors/wasm/wasm-api.js'

const fixture = (name: string): string => path.join(projectRoot(), 'fixtures', 'wasm', `${name}.wasm`)

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const round = (n: number, d = 1): number => Number(n.toFixed(d))

/** Child mode: node:wasi runs a module `reps` times in this (fresh) process; prints times in ms. */
async function childWasi(file: string, reps: number, args: string[]): Promise<void> {
  // Imported here so the parent process does not print node:wasi's ExperimentalWarning.
  const { WASI } = await import('node:wasi')
  const devnull = fs.openSync('/dev/null', 'w')
  const times: number[] = []
  let exitCode = 0
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now()
    const module = await Wasm.compile(fs.readFileSync(file))
    const wasi = new WASI({
      version: 'preview1',
      args: [file, ...args],
      env: {},
      stdout: devnull,
      returnOnExit: true,
    })
    const instance = new Wasm.Instance(module, wasi.getImportObject() as never)
    exitCode = wasi.start(instance as never)
    times.push(performance.now() - t0)
  }
  process.stdout.write(JSON.stringify({ times, exitCode }))
}

function runChild(flags: string[], file: string, reps: number, args: string[]): number[] {
  const self = fileURLToPath(import.meta.url)
  const r = spawnSync(
    process.execPath,
    ['--no-warnings', ...flags, self, '--child-wasi', file, String(reps), ...args],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    },
  )
  if (r.status !== 0) throw new Error(`node:wasi child failed: ${r.stderr}`)
  const out = JSON.parse(r.stdout) as { times: number[]; exitCode: number }
  if (out.exitCode !== 0) throw new Error(`node:wasi child: exit code ${out.exitCode}`)
  return out.times
}

async function ours(ex: WasmExecutor, name: string, args: string[]): Promise<{ ms: number; stdout: string }> {
  let stdout = ''
  const req: RunRequest = {
    executionId: 'bench',
    jobId: 'bench',
    engine: { Type: 'wasm', Params: { EntryModule: `/app/${name}.wasm`, Parameters: args } },
    env: {},
    inputs: [{ hostPath: fixture(name), target: `/app/${name}.wasm`, readOnly: true }],
    outputs: [],
    output: { stdout: (c) => (stdout += Buffer.from(c).toString()), stderr: () => undefined },
    network: 'None',
  }
  const t0 = performance.now()
  const res = await ex.run(req, new AbortController().signal)
  const ms = performance.now() - t0
  if (res.exitCode !== 0 || res.error) throw new Error(`${name}: ${JSON.stringify(res)}`)
  return { ms, stdout }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function main(): Promise<void> {
  const cpuN = arg('--cpu-n', 1_300_000_000)
  const reps = arg('--reps', 20)
  const log = (s: string): void => void process.stderr.write(s + '\n')
  const ex = new WasmExecutor()

  // Ours first, while this process has compiled no wasm at all.
  log(`cpu.wasm N=${cpuN}: executor, first run`)
  const first = await ours(ex, 'cpu', [String(cpuN)])
  log(`  ${first.ms.toFixed(0)} ms -> ${first.stdout.trim()}`)
  const second = await ours(ex, 'cpu', [String(cpuN)])
  log(`  second run ${second.ms.toFixed(0)} ms`)
  log('cpu.wasm: node:wasi, fresh processes')
  const [wasiDefault] = runChild([], fixture('cpu'), 1, [String(cpuN)])
  const [wasiNoLiftoff] = runChild(['--no-liftoff'], fixture('cpu'), 1, [String(cpuN)])
  log(`  default ${wasiDefault!.toFixed(0)} ms, --no-liftoff ${wasiNoLiftoff!.toFixed(0)} ms`)

  log(`hello.wasm: ${reps} runs each`)
  const direct = runChild([], fixture('hello'), reps, [])
  const backToBack: number[] = []
  for (let i = 0; i < reps; i++) backToBack.push((await ours(ex, 'hello', [])).ms)
  // Jobs normally arrive with gaps; the executor's reserve worker is then fully booted.
  const spaced: number[] = []
  for (let i = 0; i < reps; i++) {
    await sleep(100)
    spaced.push((await ours(ex, 'hello', [])).ms)
  }
  const cold = new WasmExecutor({ prewarm: false })
  const noReserve: number[] = []
  for (let i = 0; i < reps; i++) noReserve.push((await ours(cold, 'hello', [])).ms)
  await ex.close()
  await cold.close()

  const best = Math.min(wasiDefault!, wasiNoLiftoff!)
  const result = {
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    cpu: {
      n: cpuN,
      executor_first_run_ms: round(first.ms),
      executor_second_run_ms: round(second.ms),
      node_wasi_first_run_ms: round(wasiDefault!),
      node_wasi_no_liftoff_first_run_ms: round(wasiNoLiftoff!),
      ratio_vs_node_wasi: round(first.ms / wasiDefault!, 3),
      ratio_vs_best_node_wasi: round(first.ms / best, 3),
    },
    hello: {
      reps,
      node_wasi_median_ms: round(median(direct), 2),
      executor_median_ms: round(median(spaced), 2),
      executor_back_to_back_median_ms: round(median(backToBack), 2),
      executor_no_reserve_median_ms: round(median(noReserve), 2),
      overhead_ms: round(median(spaced) - median(direct), 2),
      overhead_back_to_back_ms: round(median(backToBack) - median(direct), 2),
      overhead_no_reserve_ms: round(median(noReserve) - median(direct), 2),
    },
  }
  process.stdout.write(JSON.stringify(result, null, 2) + '\n')
}

if (process.argv[2] === '--child-wasi') {
  await childWasi(process.argv[3]!, Number(process.argv[4]), process.argv.slice(5))
} else {
  await main()
}
