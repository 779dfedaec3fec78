// Messages and shared-memory layout between WasmExecutor (parent) and its worker.
import type { Mount } from './mounts.js'
import type { WasmModule } from './wasm-api.js'

export const WASI_MODULE = 'wasi_snapshot_preview1'

/** Host files one execution may hold open at once (they count against the whole process). */
export const MAX_OPEN_FILES = 1024

export interface ModuleSpec {
  /** Registration name (the path string it was requested under). */
  name: string
  module: WasmModule
}

export interface StartMessage {
  type: 'start'
  /** In instantiation order: every module after the modules it imports. */
  modules: ModuleSpec[]
  /** Name of the module whose export is called. */
  entry: string
  entrypoint: string
  args: string[]
  env: string[]
  mounts: Mount[]
  /** Rings (see ring.ts) carrying fd 1 and fd 2 to the parent. */
  stdout: SharedArrayBuffer
  stderr: SharedArrayBuffer
}

export type WorkerMessage =
  /** The entrypoint is about to be called: from here a failure is exit code 1, not -1. */
  { type: 'started' } | { type: 'done'; exitCode: number; error?: string }
