// The task's virtual filesystem: a synthetic read-only root with host files and
// directories mounted at absolute virtual paths. Used by the parent (to find modules)
// and by the worker (behind the WASI file descriptors), so both apply the same rules.
import fs from 'node:fs'
import path from 'node:path'
import type { PreparedInput, PreparedOutput } from '../types.js'

export interface Mount {
  /** Normalised absolute virtual path ("/inputs", "/" for the root). */
  vpath: string
  /** Canonical host path (symlinks resolved); the containment boundary. */
  root: string
  isDir: boolean
  readOnly: boolean
}

/** A wasi errno returned by path resolution (numbers from wasi_snapshot_preview1). */
export class FsError extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message)
  }
}

export const E = {
  ACCES: 2,
  BADF: 8,
  BUSY: 10,
  EXIST: 20,
  INVAL: 28,
  IO: 29,
  ISDIR: 31,
  LOOP: 32,
  MFILE: 33,
  NAMETOOLONG: 37,
  NOENT: 44,
  NOSPC: 51,
  NOTDIR: 54,
  NOTEMPTY: 55,
  NOTSUP: 58,
  PERM: 63,
  ROFS: 69,
  SPIPE: 70,
  XDEV: 75,
  NOTCAPABLE: 76,
} as const

const hostErrno: Record<string, number> = {
  EACCES: E.ACCES,
  EBADF: E.BADF,
  EBUSY: E.BUSY,
  EEXIST: E.EXIST,
  EINVAL: E.INVAL,
  EISDIR: E.ISDIR,
  ELOOP: E.LOOP,
  EMFILE: E.MFILE,
  ENFILE: E.MFILE,
  ENAMETOOLONG: E.NAMETOOLONG,
  ENOENT: E.NOENT,
  ENOSPC: E.NOSPC,
  EDQUOT: E.NOSPC,
  ENOTDIR: E.NOTDIR,
  ENOTEMPTY: E.NOTEMPTY,
  EPERM: E.PERM,
  EROFS: E.ROFS,
  ESPIPE: E.SPIPE,
  EXDEV: E.XDEV,
  EFBIG: 22,
}

/** Maps a node:fs error to a wasi errno (EIO when unknown). */
export function errnoOf(err: unknown): number {
  if (err instanceof FsError) return err.errno
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return code ? (hostErrno[code] ?? E.IO) : E.IO
}

/** Splits an absolute virtual path into components; `..` may not climb above "/". */
export function splitVPath(p: string): string[] | undefined {
  if (p.includes('\0')) return undefined
  const out: string[] = []
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue
    if (c === '..') {
      if (out.pop() === undefined) return undefined
      continue
    }
    out.push(c)
  }
  return out
}

export const joinVPath = (parts: readonly string[]): string => '/' + parts.join('/')

/**
 * Lays out the mounts. Inputs sit at their Target (a leading "/" is optional, as in
 * Bacalhau); outputs at their Path and, when that differs and the spot is free, also
 * at /<Name>, where Bacalhau's WASM executor puts them.
 */
export function buildMounts(inputs: readonly PreparedInput[], outputs: readonly PreparedOutput[]): Mount[] {
  const mounts: Mount[] = []
  const taken = new Map<string, string>()
  const add = (vp: string, hostPath: string, readOnly: boolean, what: string, optional: boolean): void => {
    const parts = splitVPath(vp)
    if (!parts) throw new Error(`${what}: invalid path '${vp}'`)
    const vpath = joinVPath(parts)
    const other = taken.get(vpath)
    if (other !== undefined) {
      if (optional) return
      throw new Error(`${what}: path '${vpath}' is already used by ${other}`)
    }
    let root: string
    let st: fs.Stats
    try {
      root = fs.realpathSync(hostPath)
      st = fs.statSync(root)
    } catch (err) {
      throw new Error(`${what}: host path ${hostPath} is not accessible: ${(err as Error).message}`)
    }
    taken.set(vpath, what)
    mounts.push({ vpath, root, isDir: st.isDirectory(), readOnly })
  }
  for (const input of inputs) {
    if (!input.target) throw new Error(`input ${input.hostPath}: empty target`)
    add(input.target, input.hostPath, input.readOnly, `input '${input.target}'`, false)
  }
  for (const output of outputs) {
    if (output.path) add(output.path, output.hostPath, false, `output '${output.name}'`, false)
  }
  for (const output of outputs) {
    if (output.name)
      add('/' + output.name, output.hostPath, false, `output '${output.name}'`, Boolean(output.path))
  }
  return mounts
}

export type Resolved =
  { kind: 'virtual'; parts: string[] } | { kind: 'host'; parts: string[]; mount: Mount; rest: string[] }

const isPrefix = (prefix: readonly string[], of: readonly string[]): boolean =>
  prefix.length <= of.length && prefix.every((c, i) => of[i] === c)

function inside(p: string, root: string): boolean {
  if (p === root) return true
  return p.startsWith(root.endsWith(path.sep) ? root : root + path.sep)
}

export class VirtualFs {
  private readonly mounts: (Mount & { parts: string[] })[]

  constructor(mounts: readonly Mount[]) {
    this.mounts = mounts
      .map((m) => ({ ...m, parts: splitVPath(m.vpath) ?? [] }))
      .sort((a, b) => b.parts.length - a.parts.length)
  }

  /** Mounts whose virtual path is exactly `parts` (used to refuse removing a mount point). */
  mountAt(parts: readonly string[]): Mount | undefined {
    return this.mounts.find((m) => m.parts.length === parts.length && isPrefix(m.parts, parts))
  }

  /** True when some mount lies strictly below `parts`, so it must exist as a directory. */
  isAncestorOfMount(parts: readonly string[]): boolean {
    return this.mounts.some((m) => m.parts.length > parts.length && isPrefix(parts, m.parts))
  }

  /** Names of mount points and synthetic directories directly below `parts`. */
  virtualChildren(parts: readonly string[]): string[] {
    const names = new Set<string>()
    for (const m of this.mounts) {
      if (m.parts.length > parts.length && isPrefix(parts, m.parts)) names.add(m.parts[parts.length]!)
    }
    return [...names]
  }

  /** Which mount (if any) serves an absolute virtual path; the longest mount prefix wins. */
  resolve(parts: string[]): Resolved {
    for (const m of this.mounts) {
      if (isPrefix(m.parts, parts)) {
        const rest = parts.slice(m.parts.length)
        if (!m.isDir && rest.length > 0) throw new FsError(E.NOTDIR, 'not a directory')
        return { kind: 'host', parts, mount: m, rest }
      }
    }
    if (parts.length === 0 || this.isAncestorOfMount(parts)) return { kind: 'virtual', parts }
    throw new FsError(E.NOENT, 'no such file or directory')
  }

  /**
   * The host path behind `rest` in a mount, with every symlink resolved and the result
   * checked to stay inside the mount. With follow=false the last component itself is
   * not resolved (unlink, rename and lstat act on a link, not its target).
   * Returns exists=false for a missing last component whose parent is valid.
   */
  hostPath(mount: Mount, rest: readonly string[], follow = true): { path: string; exists: boolean } {
    if (rest.length === 0) return { path: mount.root, exists: true }
    const candidate = path.join(mount.root, ...rest)
    if (follow) {
      try {
        const real = fs.realpathSync(candidate)
        if (!inside(real, mount.root))
          throw new FsError(E.NOTCAPABLE, 'path escapes its mount through a symlink')
        return { path: real, exists: true }
      } catch (err) {
        if (err instanceof FsError) throw err
        const code = (err as NodeJS.ErrnoException).code
        if (code !== 'ENOENT') throw new FsError(errnoOf(err), (err as Error).message)
      }
    }
    // The last component is missing (or not to be followed): vouch for its parent.
    let parent: string
    try {
      parent = fs.realpathSync(path.dirname(candidate))
    } catch (err) {
      throw new FsError(errnoOf(err), (err as Error).message)
    }
    if (!inside(parent, mount.root))
      throw new FsError(E.NOTCAPABLE, 'path escapes its mount through a symlink')
    const p = path.join(parent, path.basename(candidate))
    let exists = true
    try {
      fs.lstatSync(p)
    } catch {
      exists = false
    }
    // A dangling symlink when following: report it missing; creating through it is
    // refused later by O_NOFOLLOW.
    if (follow && exists) exists = false
    return { path: p, exists }
  }
}
