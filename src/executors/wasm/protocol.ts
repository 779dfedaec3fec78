// Messages and shared-memory layout between WasmExecutor (parent) and its worker.
import type { Mount } from './mounts.js'
import type { WasmModule } from './wasm-api.js'

export const WASI_MODULE = 'wasi_snapshot_preview1'

/**
 * Int32 slots of the control SharedArrayBuffer.
 * SLEEP: never written; the worker Atomics.waits on it to sleep (poll_oneoff), which,
 *   unlike a busy loop, burns no CPU and is still interrupted by worker.terminate().
 * FDS_START..: host file descriptors the worker holds open (fd + 1, 0 = free slot).
 *   A terminated worker cannot close them, and they belong to the whole process,
 *   so the parent closes whatever is left.
 */
export const CTRL = { SLEEP: 0, FDS_START: 1 } as const
export const MAX_OPEN_FILES = 1024
export const CTRL_SLOTS = CTRL.FDS_START + MAX_OPEN_FILES

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
  /** Int32 slots described by CTRL. */
  ctrl: SharedArrayBuffer
  /** Rings (see ring.ts) carrying fd 1 and fd 2 to the parent. */
  stdout: SharedArrayBuffer
  stderr: SharedArrayBuffer
}

export type WorkerMessage =
  /** The entrypoint is about to be called: from here a failure is exit code 1, not -1. */
  | { type: 'started' }
  | { type: 'done'; exitCode: number; error?: string }
