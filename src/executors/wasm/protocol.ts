// Messages and shared-memory layout between WasmExecutor (parent) and its worker.
import type { Mount } from './mounts.js'

export const WASI_MODULE = 'wasi_snapshot_preview1'

/**
 * Int32 slots of the control SharedArrayBuffer.
 * INFLIGHT: stdout/stderr bytes posted but not yet consumed by the parent; the worker
 *   waits on it when too much is queued, so a flooding module cannot fill the
 *   parent's heap with messages.
 * WAKE: set to 1 by the parent before terminating, to break Atomics.wait sleeps.
 * FDS_START..: host file descriptors the worker holds open (fd + 1, 0 = free slot).
 *   A terminated worker cannot close them, and they belong to the whole process,
 *   so the parent closes whatever is left.
 */
export const CTRL = { INFLIGHT: 0, WAKE: 1, FDS_START: 2 } as const
export const MAX_OPEN_FILES = 1024
export const CTRL_SLOTS = CTRL.FDS_START + MAX_OPEN_FILES
/** Unconsumed output above which the worker blocks. */
export const MAX_INFLIGHT_BYTES = 4 << 20

export interface ModuleSpec {
  /** Registration name (the path string it was requested under). */
  name: string
  module: WebAssembly.Module
}

export interface StartMessage {
  type: 'start'
  /** In instantiation order: dependencies first, the entry module last. */
  modules: ModuleSpec[]
  entrypoint: string
  args: string[]
  env: string[]
  mounts: Mount[]
  ctrl: SharedArrayBuffer
}

export type WorkerMessage =
  | { type: 'out'; stream: 1 | 2; data: Uint8Array }
  | { type: 'started' }
  | { type: 'done'; exitCode: number; error?: string }
