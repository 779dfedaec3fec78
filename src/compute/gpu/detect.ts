// GPU discovery at compute-node start (bacalhau-behaviour.md §3.9): run each vendor's tool if it
// is installed, parse, and concatenate NVIDIA, then AMD, then Intel. Detection must never stop a
// node: as in Bacalhau, a host may have a tool installed but no working driver, so a failing tool
// or unreadable output costs only that vendor's GPUs and one warn line. Index is left as each
// tool reports it (so two vendors can both have an Index 0); labels use list position instead.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type { GpuInfo } from './types.js'
import { NVIDIA_SMI_ARGS, NVIDIA_SMI_COMMAND, parseNvidiaSmi } from './nvidia.js'
import { ROCM_SMI_ARGS, ROCM_SMI_COMMAND, parseRocmSmi } from './amd.js'
import {
  XPU_SMI_COMMAND,
  XPU_SMI_LIST_ARGS,
  parseXpuSmiDevice,
  parseXpuSmiDiscoveryRecords,
  xpuSmiDeviceArgs,
} from './intel.js'
import { excerpt } from './parse-util.js'
import { logger as rootLogger } from '../../util/logger.js'

export interface RunResult {
  /** Exit status; 127 means "command not found" (treated as the tool being absent). */
  code: number
  stdout: string
  stderr?: string
  timedOut?: boolean
}

export type RunFn = (cmd: string, args: string[]) => Promise<RunResult>

/** The slice of a pino logger detection uses, so tests can pass a recorder. */
export interface GpuLogger {
  warn(obj: object, msg: string): void
  debug(obj: object, msg: string): void
}

export interface DetectGpusOptions {
  /** Runs a command; defaults to child_process.execFile with the timeout below. */
  run?: RunFn
  /**
   * Finds a tool; returns the path to run, or null when absent. Defaults to a PATH lookup when
   * `run` is not injected; when `run` is injected and this is not, every tool counts as present
   * and `run` answers code 127 for an absent one.
   */
  which?: (cmd: string) => string | null | Promise<string | null>
  logger?: GpuLogger
  /** Per-command limit in ms (default 5000). */
  timeoutMs?: number
  /** PATH to search in the default lookup (default process.env.PATH). */
  searchPath?: string
}

export const GPU_TOOL_TIMEOUT_MS = 5000
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024

/** Looks a command up on PATH without a shell: the first executable regular file wins. */
export function findOnPath(cmd: string, searchPath = process.env.PATH ?? ''): string | null {
  if (cmd.includes('/') || cmd.includes(path.sep)) return isExecutable(cmd) ? cmd : null
  const exts = process.platform === 'win32' ? (process.env.PATHEXT ?? '.EXE').split(';') : ['']
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue
    for (const ext of exts) {
      const candidate = path.join(dir, cmd + ext)
      if (isExecutable(candidate)) return candidate
    }
  }
  return null
}

function isExecutable(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false
    fs.accessSync(file, fs.constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** execFile wrapper that always resolves: failures become a non-zero code, never a rejection. */
export function makeDefaultRun(timeoutMs = GPU_TOOL_TIMEOUT_MS): RunFn {
  return (cmd, args) =>
    new Promise((resolve) => {
      execFile(
        cmd,
        args,
        {
          timeout: timeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: MAX_OUTPUT_BYTES,
          windowsHide: true,
          encoding: 'utf8',
        },
        (err, stdout, stderr) => {
          if (!err) return resolve({ code: 0, stdout, stderr })
          const e = err as Error & { code?: number | string | null; killed?: boolean }
          const code = typeof e.code === 'number' ? e.code : e.code === 'ENOENT' ? 127 : -1
          // Killed with no code is our timeout; maxBuffer overflow also kills but sets a code.
          const timedOut = e.killed === true && (e.code === null || e.code === undefined)
          // Spawn-level failures (EACCES, maxBuffer) have no stderr of their own; say what happened.
          const why = typeof e.code === 'string' ? e.message : ''
          resolve({ code, stdout: stdout ?? '', stderr: stderr || why, timedOut })
        },
      )
    })
}

class ToolTimeout extends Error {}

/** Bounds an injected run too, so a hung tool cannot hang node start. */
async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_, reject) => {
    // Not unref'd: a hung injected run holds nothing else open, and the caller awaits this.
    timer = setTimeout(() => reject(new ToolTimeout(`timed out after ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([p, limit])
  } finally {
    clearTimeout(timer)
  }
}

interface Vendor {
  tool: string
  provides: string
  detect: (call: (args: readonly string[]) => Promise<string>) => Promise<GpuInfo[]>
}

const VENDORS: Vendor[] = [
  {
    tool: NVIDIA_SMI_COMMAND,
    provides: 'NVIDIA GPUs',
    detect: async (call) => parseNvidiaSmi(await call(NVIDIA_SMI_ARGS)),
  },
  {
    tool: ROCM_SMI_COMMAND,
    provides: 'AMD GPUs',
    detect: async (call) => parseRocmSmi(await call(ROCM_SMI_ARGS)),
  },
  {
    tool: XPU_SMI_COMMAND,
    provides: 'Intel GPUs',
    // The listing has no memory; one more call per device fetches it, as Bacalhau does. Any
    // failing call fails the vendor: a half-described inventory is worse than none.
    detect: async (call) => {
      const listed = parseXpuSmiDiscoveryRecords(await call(XPU_SMI_LIST_ARGS))
      return Promise.all(
        listed.map(async ({ gpu, hasMemory }) => {
          if (hasMemory) return gpu
          const detail = parseXpuSmiDevice(await call(xpuSmiDeviceArgs(gpu.Index)))
          return {
            ...gpu,
            Name: detail.Name || gpu.Name,
            Memory: detail.Memory,
            PCIAddress: detail.PCIAddress || gpu.PCIAddress,
          }
        }),
      )
    },
  },
]

/** Raised inside a vendor's detection when its tool turns out not to be installed. */
class ToolMissing extends Error {}

/** A failed command, with what it printed, for the warn line. */
class ToolFailed extends Error {
  constructor(
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message)
  }
}

/**
 * Finds the host's GPUs with nvidia-smi, rocm-smi and xpu-smi. Never throws: an absent tool
 * contributes nothing silently, a failing one contributes nothing and logs a warning.
 */
export async function detectGpus(opts: DetectGpusOptions = {}): Promise<GpuInfo[]> {
  const timeoutMs = opts.timeoutMs ?? GPU_TOOL_TIMEOUT_MS
  const run = opts.run ?? makeDefaultRun(timeoutMs)
  // The default run kills its child at timeoutMs; the outer guard is only a safety net for it,
  // but the one limit an injected run gets.
  const guardMs = opts.run ? timeoutMs : timeoutMs + 1000
  const which =
    opts.which ?? (opts.run ? (cmd: string) => cmd : (cmd: string) => findOnPath(cmd, opts.searchPath))
  const log: GpuLogger = opts.logger ?? rootLogger().child({ component: 'gpu' })

  const perVendor = await Promise.all(
    VENDORS.map(async (v): Promise<GpuInfo[]> => {
      try {
        const found = await which(v.tool)
        if (!found) {
          log.debug({ tool: v.tool }, `${v.tool} not found on PATH; no ${v.provides}`)
          return []
        }
        const call = async (args: readonly string[]): Promise<string> => {
          let res: RunResult
          try {
            res = await withTimeout(run(found, [...args]), guardMs)
          } catch (e) {
            const msg = e instanceof ToolTimeout ? `timed out after ${timeoutMs} ms` : (e as Error).message
            throw new ToolFailed(`${v.tool}: ${msg}`, { args })
          }
          if (res.code === 127) throw new ToolMissing()
          if (res.timedOut) throw new ToolFailed(`${v.tool}: timed out after ${timeoutMs} ms`, { args })
          if (res.code !== 0)
            throw new ToolFailed(`${v.tool}: exited with code ${res.code}`, {
              args,
              stdout: excerpt(res.stdout, 300),
              ...(res.stderr ? { stderr: excerpt(res.stderr, 300) } : {}),
            })
          return res.stdout
        }
        const gpus = await v.detect(call)
        log.debug({ tool: v.tool, count: gpus.length }, `found ${gpus.length} ${v.provides}`)
        return gpus
      } catch (e) {
        if (e instanceof ToolMissing) {
          log.debug({ tool: v.tool }, `${v.tool} not installed; no ${v.provides}`)
          return []
        }
        const details = e instanceof ToolFailed ? e.details : {}
        log.warn(
          { tool: v.tool, err: (e as Error).message, ...details },
          `cannot inspect ${v.provides} so they will not be used`,
        )
        return []
      }
    }),
  )
  return perVendor.flat()
}
