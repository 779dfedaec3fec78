// WasmExecutor end to end: real WASI modules (fixtures/wasm, built from C by
// scripts/build-wasm-fixtures.sh) run in worker threads against host files.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { WasmExecutor, formatDuration } from '../../src/executors/wasm/index.js'
import type { PreparedInput, PreparedOutput, RunRequest, RunResult } from '../../src/executors/types.js'
import { projectRoot } from '../../src/util/paths.js'

const FIXTURES = path.join(projectRoot(), 'fixtures', 'wasm')
const fixture = (name: string): string => path.join(FIXTURES, `${name}.wasm`)

interface Chunk {
  stream: 'stdout' | 'stderr'
  at: number
  data: Uint8Array
}

interface RunOutcome {
  result: RunResult
  stdout: string
  stderr: string
  stdoutBytes: number
  chunks: Chunk[]
  ms: number
  resolvedAt: number
}

interface RunOptions {
  /** Fixture name mounted read-only at /app/<name>.wasm and used as EntryModule. */
  module?: string
  params?: Record<string, unknown>
  env?: Record<string, string>
  inputs?: PreparedInput[]
  outputs?: PreparedOutput[]
  timeoutMs?: number
  memoryBytes?: number
  signal?: AbortSignal
  /** Keep only a running byte count of stdout (for huge outputs). */
  countOnly?: boolean
}

async function runWasm(ex: WasmExecutor, opts: RunOptions): Promise<RunOutcome> {
  const inputs: PreparedInput[] = []
  const params: Record<string, unknown> = { ...opts.params }
  if (opts.module) {
    inputs.push({ hostPath: fixture(opts.module), target: `/app/${opts.module}.wasm`, readOnly: true })
    params.EntryModule ??= `/app/${opts.module}.wasm`
  }
  inputs.push(...(opts.inputs ?? []))
  const chunks: Chunk[] = []
  let stdoutBytes = 0
  const t0 = performance.now()
  const req: RunRequest = {
    executionId: 'e-test',
    jobId: 'j-test',
    engine: { Type: 'wasm', Params: params },
    env: opts.env ?? {},
    inputs,
    outputs: opts.outputs ?? [],
    output: {
      stdout: (data) => {
        stdoutBytes += data.length
        if (!opts.countOnly) chunks.push({ stream: 'stdout', at: performance.now() - t0, data })
      },
      stderr: (data) => chunks.push({ stream: 'stderr', at: performance.now() - t0, data }),
    },
    timeoutMs: opts.timeoutMs,
    memoryBytes: opts.memoryBytes,
    network: 'None',
  }
  const result = await ex.run(req, opts.signal ?? new AbortController().signal)
  const resolvedAt = performance.now() - t0
  const text = (s: Chunk['stream']): string =>
    Buffer.concat(chunks.filter((c) => c.stream === s).map((c) => c.data)).toString('utf8')
  return { result, stdout: text('stdout'), stderr: text('stderr'), stdoutBytes, chunks, ms: resolvedAt, resolvedAt }
}

function tempDir(prefix = 'wasm-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

/** Open descriptors of this process (Linux). */
function openFdCount(): number {
  return fs.readdirSync('/proc/self/fd').length
}
