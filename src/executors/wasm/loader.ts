// Finds, caps and compiles the modules of a job (in the parent, before the worker runs).
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import v8 from 'node:v8'
import { applyMemoryCap } from './memory-limit.js'
import { FsError, VirtualFs, splitVPath } from './mounts.js'
import { WASI_MODULE, type ModuleSpec } from './protocol.js'
import { Wasm, type WasmModule } from './wasm-api.js'

const MAX_MODULE_BYTES = 1 << 30

/** A job error with a message meant for the user (becomes RunResult.error). */
export class ModuleLoadError extends Error {}

let optimising = false

/**
 * V8 compiles wasm with Liftoff first and tiers hot functions up to TurboFan, but a
 * frame already running stays in Liftoff (no on-stack replacement). A batch program's
 * `main` is called once and loops for its whole life, so it would run about 2x slower
 * on every first run. Compiling with TurboFan up front avoids that. The flag is
 * process-wide and can only be set at runtime this way (Worker execArgv refuses V8
 * flags); it is read when a module is compiled, so it must precede the first compile.
 */
export function useOptimisingCompiler(): void {
  if (optimising) return
  v8.setFlagsFromString('--no-liftoff')
  optimising = true
}

/**
 * Compiled modules by content hash (after the memory cap is applied). Posting a
 * WebAssembly.Module to a worker shares its machine code, so a repeated job skips
 * compilation entirely.
 */
const compiled = new Map<string, { module: WasmModule; bytes: number }>()
const CACHE_MAX_ENTRIES = 32
const CACHE_MAX_BYTES = 256 << 20
let cachedBytes = 0

async function compile(bytes: Uint8Array, what: string): Promise<WasmModule> {
  const key = createHash('sha256').update(bytes).digest('hex')
  const hit = compiled.get(key)
  if (hit) {
    compiled.delete(key)
    compiled.set(key, hit)
    return hit.module
  }
  useOptimisingCompiler()
  let module: WasmModule
  try {
    module = await Wasm.compile(bytes)
  } catch (err) {
    throw new ModuleLoadError(`invalid WASM module ${what}: ${(err as Error).message}`)
  }
  compiled.set(key, { module, bytes: bytes.length })
  cachedBytes += bytes.length
  for (const [k, v] of compiled) {
    if (compiled.size <= CACHE_MAX_ENTRIES && cachedBytes <= CACHE_MAX_BYTES) break
    compiled.delete(k)
    cachedBytes -= v.bytes
  }
  return module
}

function notFound(vpath: string, mounts: readonly string[], role: string): ModuleLoadError {
  const where = mounts.length ? ` (mounted: ${mounts.join(', ')})` : ' (nothing is mounted)'
  return new ModuleLoadError(`${role} '${vpath}' not found in the task filesystem${where}`)
}

/**
 * The host file behind a module path: the file itself, or the only .wasm file of a
 * directory. Goes through VirtualFs, so the same mount and symlink rules apply as
 * for the module's own file access.
 */
export function resolveModuleFile(
  vfs: VirtualFs,
  vpath: string,
  mounts: readonly string[],
  role: string,
): string {
  const parts = splitVPath(vpath.startsWith('/') ? vpath : '/' + vpath)
  if (!parts) throw new ModuleLoadError(`${role} '${vpath}' is not a valid path`)
  const fileAt = (p: string[]): { path: string; isDir: boolean } | undefined => {
    try {
      const res = vfs.resolve(p)
      if (res.kind === 'virtual') return { path: '', isDir: true }
      const hp = vfs.hostPath(res.mount, res.rest, true)
      if (!hp.exists) return vfs.isAncestorOfMount(p) ? { path: '', isDir: true } : undefined
      return { path: hp.path, isDir: fs.statSync(hp.path).isDirectory() }
    } catch (err) {
      if (err instanceof FsError) return undefined
      throw err
    }
  }
  const found = fileAt(parts)
  if (!found) throw notFound(vpath, mounts, role)
  if (!found.isDir) return found.path

  const names = new Set(vfs.virtualChildren(parts))
  if (found.path) for (const n of fs.readdirSync(found.path)) names.add(n)
  const wasm = [...names]
    .filter((n) => n.endsWith('.wasm'))
    .map((n) => fileAt([...parts, n]))
    .filter((f): f is { path: string; isDir: boolean } => f !== undefined && !f.isDir)
  if (wasm.length !== 1) {
    throw new ModuleLoadError(
      `${role} '${vpath}' is a directory with ${wasm.length} .wasm files; it must contain exactly one`,
    )
  }
  return wasm[0]!.path
}

export interface LoadOptions {
  entryModule: string
  importModules: readonly string[]
  /** Memory cap in 64 KiB pages applied to every module; undefined = none. */
  capPages?: number
}

/**
 * Loads ImportModules, then the entry module, following each module's import
 * namespaces: a name already loaded is reused, wasi_snapshot_preview1 is built in,
 * anything else is a path in the task filesystem loaded the same way.
 * Returns the modules in instantiation order (every module after those it imports).
 */
export async function loadModules(
  vfs: VirtualFs,
  mountPaths: readonly string[],
  opts: LoadOptions,
): Promise<ModuleSpec[]> {
  const order: ModuleSpec[] = []
  const done = new Set<string>()
  const stack: string[] = []

  const load = async (name: string, role: string): Promise<void> => {
    if (done.has(name)) return
    if (stack.includes(name)) throw new ModuleLoadError(`import cycle: ${[...stack, name].join(' -> ')}`)
    stack.push(name)
    const hostPath = resolveModuleFile(vfs, name, mountPaths, role)
    let bytes: Uint8Array
    try {
      // V8 refuses modules over 1 GiB anyway; checking first avoids reading a huge
      // data file into memory because a path pointed at it by mistake.
      const { size } = await fs.promises.stat(hostPath)
      if (size > MAX_MODULE_BYTES) throw new Error(`${size} bytes is larger than a WASM module can be`)
      bytes = await fs.promises.readFile(hostPath)
    } catch (err) {
      throw new ModuleLoadError(`cannot read ${role} '${name}': ${(err as Error).message}`)
    }
    if (opts.capPages !== undefined) {
      try {
        bytes = applyMemoryCap(bytes, opts.capPages, `WASM module '${name}'`)
      } catch (err) {
        const msg = (err as Error).message
        throw new ModuleLoadError(
          msg.startsWith('WASM module') ? msg : `invalid WASM module '${name}': ${msg}`,
        )
      }
    }
    const module = await compile(bytes, `'${name}'`)
    const namespaces = new Set(Wasm.Module.imports(module).map((i) => i.module))
    for (const ns of namespaces) {
      if (ns === WASI_MODULE || done.has(ns)) continue
      try {
        await load(ns, 'import module')
      } catch (err) {
        if (err instanceof ModuleLoadError && err.message.startsWith(`import module '${ns}' not found`)) {
          throw new ModuleLoadError(
            `WASM module '${name}' imports from '${ns}', which is neither a loaded module nor a file in the task filesystem`,
          )
        }
        throw err
      }
    }
    stack.pop()
    done.add(name)
    order.push({ name, module })
  }

  for (const name of opts.importModules) await load(name, 'import module')
  await load(opts.entryModule, 'entry module')
  return order
}
