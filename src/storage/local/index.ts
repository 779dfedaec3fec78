// The `local` (legacy name `localDirectory`) input source: a host path mounted in place,
// allowed only under Compute.AllowListedLocalPaths (bacalhau-api.md §5.3,
// bacalhau-behaviour.md §4.1). Every check runs on the fully resolved real path, because the
// job author controls SourcePath and may try `..` or a symlink to step outside the list.
import fs from 'node:fs'
import path from 'node:path'
import type { PreparedInput } from '../../executors/types.js'
import { paramValue } from '../../models/ci.js'
import type { InputSource } from '../../models/job.js'
import type { StorageProvider } from '../types.js'
import { AllowList, resolveReal } from './allowlist.js'

export { AllowList, globMatch, parseAllowedPath, resolveReal, type AllowedPath } from './allowlist.js'

export type CreateAs = 'dir' | 'file' | 'noCreate'

export interface LocalSourceParams {
  sourcePath: string
  readWrite: boolean
  createAs: CreateAs
}

/** Thrown for a job's bad input; the message is the rejection reason without the prefix. */
class Refusal extends Error {}

/** Reads and checks the params' shapes (no file system access). */
export function parseLocalParams(input: InputSource): LocalSourceParams {
  const params = input.Source?.Params ?? undefined
  const sourcePath = paramValue(params, 'SourcePath')
  if (typeof sourcePath !== 'string' || sourcePath === '') throw new Refusal('SourcePath is required')
  if (sourcePath.includes('\0')) throw new Refusal('SourcePath contains a NUL byte')
  if (!path.isAbsolute(sourcePath)) throw new Refusal(`SourcePath must be an absolute path: ${sourcePath}`)
  return {
    sourcePath,
    readWrite: parseBool(paramValue(params, 'ReadWrite')),
    createAs: parseCreateAs(paramValue(params, 'CreateAs')),
  }
}

/** Go's strconv.ParseBool spellings, which mapstructure's weak decoding accepts too. */
function parseBool(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false
  if (typeof v === 'boolean') return v
  if (typeof v === 'number') return v !== 0
  if (typeof v === 'string') {
    if (['1', 't', 'true'].includes(v.toLowerCase())) return true
    if (['0', 'f', 'false'].includes(v.toLowerCase())) return false
  }
  throw new Refusal(`ReadWrite must be a boolean, got ${JSON.stringify(v)}`)
}

function parseCreateAs(v: unknown): CreateAs {
  if (v === undefined || v === null || v === '') return 'noCreate'
  if (typeof v === 'string') {
    const s = v.toLowerCase()
    if (s === 'dir') return 'dir'
    if (s === 'file') return 'file'
    if (s === 'nocreate') return 'noCreate'
  }
  throw new Refusal(`CreateAs must be one of dir, file, noCreate; got ${JSON.stringify(v)}`)
}

export class LocalStorage implements StorageProvider {
  readonly types = ['local', 'localdirectory'] as const
  readonly allowList: AllowList

  /** `allowListed` is Compute.AllowListedLocalPaths; a malformed entry throws here, at startup. */
  constructor(allowListed: readonly string[]) {
    this.allowList = new AllowList(allowListed)
  }

  async isInstalled(): Promise<boolean> {
    return true
  }

  /** The bid-time check: a rejection reason, or undefined when this node can mount the path. */
  validate(input: InputSource): string | undefined {
    try {
      const params = parseLocalParams(input)
      const real = this.checkAllowed(params)
      if (!exists(real) && !canCreate(params)) return `source path does not exist: ${params.sourcePath}`
      return undefined
    } catch (err) {
      return (err as Error).message
    }
  }

  async prepare(input: InputSource, _workDir: string, signal: AbortSignal): Promise<PreparedInput> {
    signal.throwIfAborted()
    try {
      const params = parseLocalParams(input)
      let real = this.checkAllowed(params)
      if (!exists(real)) {
        if (!canCreate(params)) throw new Refusal(`source path does not exist: ${params.sourcePath}`)
        await create(real, params.createAs)
        // Re-resolve: a symlink swapped in while creating must not carry the mount elsewhere.
        real = this.checkAllowed(params)
      }
      return { hostPath: real, target: input.Target, readOnly: !params.readWrite }
    } catch (err) {
      if (err instanceof Refusal) throw new Error(`local input: ${err.message}`)
      throw new Error(`local input: ${(err as Error).message}`, { cause: err })
    }
  }

  /** Resolves SourcePath and returns the real path if the allow-list permits the access. */
  private checkAllowed(params: LocalSourceParams): string {
    let real: string
    try {
      real = resolveReal(params.sourcePath)
    } catch (err) {
      throw new Refusal(`cannot resolve ${params.sourcePath}: ${(err as Error).message}`)
    }
    if (this.allowList.allows(real, params.readWrite)) return real
    if (params.readWrite && this.allowList.allows(real, false)) {
      throw new Refusal(
        `this node does not allow read-write access to local path ${params.sourcePath} (no matching :rw entry)`,
      )
    }
    throw new Refusal(`this node does not allow local path ${params.sourcePath}`)
  }
}

function exists(p: string): boolean {
  try {
    fs.lstatSync(p)
    return true
  } catch {
    return false
  }
}

/** Bacalhau only creates a missing path for a read-write mount that asked for it. */
function canCreate(params: LocalSourceParams): boolean {
  return params.readWrite && params.createAs !== 'noCreate'
}

async function create(real: string, createAs: CreateAs): Promise<void> {
  if (createAs === 'dir') {
    await fs.promises.mkdir(real, { recursive: true })
    return
  }
  await fs.promises.mkdir(path.dirname(real), { recursive: true })
  // Append mode leaves a file created by a racing run intact; O_NOFOLLOW refuses a symlink
  // planted at the path since it was checked.
  const { O_CREAT, O_WRONLY, O_APPEND, O_NOFOLLOW } = fs.constants
  const fh = await fs.promises.open(real, O_CREAT | O_WRONLY | O_APPEND | O_NOFOLLOW, 0o644)
  await fh.close()
}
