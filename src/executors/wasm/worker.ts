// Worker entry: instantiates a job's modules and runs its entrypoint (one job per worker).
import '../../polyfills.js'
import { parentPort } from 'node:worker_threads'
import { WASI, WASIProcExit, type Fd } from '@bjorn3/browser_wasi_shim'
import { DirFd, EmptyInputFd, FileFd, HostFdTable, HostFs, OutputFd } from './hostfs.js'
import { E, errnoOf } from './mounts.js'
import { WASI_MODULE, type StartMessage, type WorkerMessage } from './protocol.js'
import { RingWriter } from './ring.js'
import { Wasm, type WasmImports, type WasmInstance } from './wasm-api.js'

const port = parentPort
if (!port) throw new Error('wasm worker must run in a worker thread')

const send = (msg: WorkerMessage): void => port.postMessage(msg)
const utf8 = new TextEncoder()
const utf8d = new TextDecoder()
/** Never notified: Atomics.wait on it sleeps without burning CPU and still yields to terminate(). */
const sleeper = new Int32Array(new SharedArrayBuffer(4))

/**
 * Replaces the shim's versions of a few calls. Reads and writes on host files go
 * straight between the host and the module's memory (no intermediate copy, no
 * whole-file buffering); the rest fix gaps in shim 0.4.2: args_sizes_get counts
 * UTF-16 units instead of UTF-8 bytes, path_rename relinks in-memory inodes,
 * poll_oneoff busy-waits, reads the wrong offset for flags and never writes
 * nevents, and the socket calls throw instead of returning an errno.
 */
function patchWasi(w: WASI, args: string[]): void {
  const imp = w.wasiImport
  const orig = { ...imp }
  const fds = w.fds as (Fd | undefined)[]
  const mem = (): ArrayBuffer => w.inst.exports.memory.buffer as ArrayBuffer
  const view = (): DataView => new DataView(mem())

  imp.args_sizes_get = (argcPtr: number, bufSizePtr: number): number => {
    const v = view()
    v.setUint32(argcPtr, args.length, true)
    v.setUint32(
      bufSizePtr,
      args.reduce((n, a) => n + utf8.encode(a).length + 1, 0),
      true,
    )
    return 0
  }

  const iovecs = (ptr: number, len: number): [number, number][] => {
    const v = view()
    const out: [number, number][] = []
    for (let i = 0; i < len; i++)
      out.push([v.getUint32(ptr + 8 * i, true), v.getUint32(ptr + 8 * i + 4, true)])
    return out
  }

  // One host call per iovec; a short transfer ends the loop like readv/writev would.
  const transfer = (
    name: 'fd_read' | 'fd_pread' | 'fd_write' | 'fd_pwrite',
    op: (f: FileFd, m: Uint8Array, off: number, len: number, at: bigint | undefined) => number,
    positional: boolean,
  ) => {
    const fallback = orig[name] as (...a: unknown[]) => number
    return (...a: unknown[]): number => {
      const fd = a[0] as number
      const f = fds[fd]
      if (!(f instanceof FileFd)) return fallback(...a)
      const [iovPtr, iovLen] = [a[1] as number, a[2] as number]
      let at = positional ? (a[3] as bigint) : undefined
      const outPtr = a[positional ? 4 : 3] as number
      let total = 0
      try {
        const m = new Uint8Array(mem())
        for (const [buf, len] of iovecs(iovPtr, iovLen)) {
          if (len === 0) continue
          const n = op(f, m, buf, len, at)
          total += n
          if (at !== undefined) at += BigInt(n)
          if (n < len) break
        }
      } catch (err) {
        if (total === 0) return errnoOf(err)
      }
      view().setUint32(outPtr, total, true)
      return 0
    }
  }
  imp.fd_read = transfer('fd_read', (f, m, o, l) => f.readInto(m, o, l), false)
  imp.fd_pread = transfer('fd_pread', (f, m, o, l, at) => f.readInto(m, o, l, at), true)
  imp.fd_write = transfer('fd_write', (f, m, o, l) => f.writeFrom(m, o, l), false)
  imp.fd_pwrite = transfer('fd_pwrite', (f, m, o, l, at) => f.writeFrom(m, o, l, at), true)

  imp.path_rename = (
    fd: number,
    oldPtr: number,
    oldLen: number,
    newFd: number,
    newPtr: number,
    newLen: number,
  ) => {
    const from = fds[fd]
    const to = fds[newFd]
    if (!from || !to) return E.BADF
    if (!(from instanceof DirFd) || !(to instanceof DirFd)) return E.NOTDIR
    const m = new Uint8Array(mem())
    const oldPath = utf8d.decode(m.subarray(oldPtr, oldPtr + oldLen))
    const newPath = utf8d.decode(m.subarray(newPtr, newPtr + newLen))
    return from.rename(oldPath, to, newPath)
  }

  imp.poll_oneoff = (inPtr: number, outPtr: number, nsubs: number, neventsPtr: number): number => {
    if (nsubs === 0) return E.INVAL
    const v = view()
    const nowNs = (): bigint => BigInt(Math.round(performance.now() * 1e6))
    const events: [bigint, number, number][] = [] // userdata, errno, type
    const clocks: [bigint, bigint][] = [] // userdata, deadline (monotonic ns)
    for (let i = 0; i < nsubs; i++) {
      const p = inPtr + 48 * i
      const userdata = v.getBigUint64(p, true)
      const tag = v.getUint8(p + 8)
      if (tag === 0) {
        const clock = v.getUint32(p + 16, true)
        const timeout = v.getBigUint64(p + 24, true)
        const abs = (v.getUint16(p + 40, true) & 1) !== 0
        let deadline: bigint
        if (clock === 1) deadline = abs ? timeout : nowNs() + timeout
        else if (clock === 0) deadline = nowNs() + (abs ? timeout - BigInt(Date.now()) * 1_000_000n : timeout)
        else {
          events.push([userdata, E.INVAL, tag])
          continue
        }
        clocks.push([userdata, deadline])
      } else if (tag === 1 || tag === 2) {
        // Files, stdin and the output streams never block.
        events.push([userdata, fds[v.getUint32(p + 16, true)] ? 0 : E.BADF, tag])
      } else {
        events.push([userdata, E.INVAL, tag])
      }
    }
    if (events.length === 0 && clocks.length > 0) {
      const first = clocks.reduce((a, b) => (b[1] < a[1] ? b : a))[1]
      for (;;) {
        const left = Number(first - nowNs()) / 1e6
        if (left <= 0) break
        Atomics.wait(sleeper, 0, 0, left)
      }
      const now = nowNs()
      for (const [userdata, deadline] of clocks) if (deadline <= now) events.push([userdata, 0, 0])
    }
    const out = view()
    events.forEach(([userdata, errno, type], i) => {
      const p = outPtr + 32 * i
      for (let b = 0; b < 32; b += 8) out.setBigUint64(p + b, 0n, true)
      out.setBigUint64(p, userdata, true)
      out.setUint16(p + 8, errno, true)
      out.setUint8(p + 10, type)
    })
    out.setUint32(neventsPtr, events.length, true)
    return 0
  }

  for (const name of ['sock_accept', 'sock_recv', 'sock_send', 'sock_shutdown']) imp[name] = () => E.NOTSUP
}

function describe(err: unknown): string {
  if (err instanceof Wasm.RuntimeError) return `wasm trap: ${err.message}`
  if (err instanceof RangeError && /call stack/i.test(err.message)) return 'wasm trap: call stack exhausted'
  if (err instanceof Error) return err.message
  return String(err)
}

function run(msg: StartMessage): WorkerMessage {
  const table = new HostFdTable()
  const hfs = new HostFs(msg.mounts, table)
  // Every directory mount is a preopen at its own path (the most specific one is what
  // wasi-libc uses), and a synthetic "/" covers file mounts and listing the root.
  const preopens: Fd[] = msg.mounts
    .filter((m) => m.isDir && m.vpath !== '/')
    .sort((a, b) => a.vpath.localeCompare(b.vpath))
    .map((m) => new DirFd(hfs, m.vpath.split('/').filter(Boolean), m.vpath))
  const fds: Fd[] = [
    new EmptyInputFd(),
    new OutputFd(new RingWriter(msg.stdout)),
    new OutputFd(new RingWriter(msg.stderr)),
    ...preopens,
    new DirFd(hfs, [], '/'),
  ]

  const instances = new Map<string, WasmInstance>()
  let entry: WasmInstance | undefined
  try {
    for (const spec of msg.modules) {
      const imports: WasmImports = {}
      let wasi: WASI | undefined
      for (const { module: ns } of Wasm.Module.imports(spec.module)) {
        if (imports[ns]) continue
        if (ns === WASI_MODULE) {
          // One WASI per module (each has its own memory), all sharing one fd table.
          wasi = new WASI(msg.args, msg.env, fds)
          patchWasi(wasi, msg.args)
          imports[ns] = wasi.wasiImport
          continue
        }
        const dep = instances.get(ns)
        if (!dep) throw new Error(`WASM module '${spec.name}' imports '${ns}', which was not loaded`)
        imports[ns] = dep.exports as Record<string, unknown>
      }
      const inst = new Wasm.Instance(spec.module, imports)
      if (wasi) {
        if (!(inst.exports.memory instanceof Wasm.Memory)) {
          throw new Error(`WASM module '${spec.name}' imports WASI but does not export its memory`)
        }
        wasi.inst = inst as unknown as WASI['inst']
      }
      instances.set(spec.name, inst)
      if (spec.name === msg.entry) entry = inst
      // A WASI reactor (library) must run its constructors before its exports are used.
      else if (typeof inst.exports._initialize === 'function') (inst.exports._initialize as () => void)()
    }
  } catch (err) {
    table.closeAll()
    return { type: 'done', exitCode: -1, error: `failed to instantiate WASM module: ${describe(err)}` }
  }

  const fn = entry?.exports[msg.entrypoint]
  if (typeof fn !== 'function') {
    table.closeAll()
    return {
      type: 'done',
      exitCode: -1,
      error: `unable to find the entrypoint '${msg.entrypoint}' in the WASM module`,
    }
  }
  send({ type: 'started' })
  let result: WorkerMessage
  try {
    ;(fn as () => unknown)()
    // Bacalhau (wazero) records -1 when the entrypoint returns without proc_exit. We
    // report 0: wasi-libc's _start returns normally when main returns 0 and only calls
    // proc_exit for a non-zero status, so a return here is a successful exit.
    result = { type: 'done', exitCode: 0 }
  } catch (err) {
    if (err instanceof WASIProcExit) result = { type: 'done', exitCode: err.code }
    else result = { type: 'done', exitCode: 1, error: describe(err) }
  }
  table.closeAll()
  return result
}

port.once('message', (msg: StartMessage) => {
  send(run(msg))
})
