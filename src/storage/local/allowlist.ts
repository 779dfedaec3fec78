// Compute.AllowListedLocalPaths: `<glob>[:rw|:ro]` entries (bacalhau-behaviour.md §2.3).
// Matching follows Bacalhau's doublestar semantics: a plain path matches only itself,
// `*` and `?` stay within one path segment, and a `**` segment matches zero or more segments
// (so `/data/**` covers `/data` and everything below it).
import fs from 'node:fs'
import path from 'node:path'

export interface AllowedPath {
  /** The glob as configured, normalised, without its `:rw`/`:ro` suffix. */
  pattern: string
  readWrite: boolean
}

const GLOB_CHARS = /[*?]/

export function parseAllowedPath(entry: string): AllowedPath {
  let p = entry.trim()
  let readWrite = false
  const suffix = /:(rw|ro)$/i.exec(p)
  if (suffix) {
    readWrite = suffix[1]!.toLowerCase() === 'rw'
    p = p.slice(0, -3)
  }
  if (!path.posix.isAbsolute(p)) {
    throw new Error(`Compute.AllowListedLocalPaths: entry ${JSON.stringify(entry)} must be an absolute path`)
  }
  const normalized = path.posix.normalize(p)
  return { pattern: normalized.length > 1 ? normalized.replace(/\/+$/, '') : normalized, readWrite }
}

function segments(p: string): string[] {
  return p.split('/').filter((s) => s !== '')
}

function segmentRegex(seg: string): RegExp {
  let re = '^'
  for (const ch of seg) {
    if (ch === '*') re += '[^/]*'
    else if (ch === '?') re += '[^/]'
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(re + '$')
}

function matchSegments(pat: string[], p: string[]): boolean {
  if (pat.length === 0) return p.length === 0
  const [head, ...rest] = pat
  if (head === '**') {
    for (let i = 0; i <= p.length; i++) if (matchSegments(rest, p.slice(i))) return true
    return false
  }
  return p.length > 0 && segmentRegex(head!).test(p[0]!) && matchSegments(rest, p.slice(1))
}

/** Whether an absolute, already resolved path matches the glob. */
export function globMatch(pattern: string, absPath: string): boolean {
  return matchSegments(segments(pattern), segments(absPath))
}

/**
 * The literal head of the pattern is resolved through symlinks the same way source paths are,
 * so an allow-list entry under a symlinked directory (macOS `/tmp`, a `/data` link to a
 * mount) still matches the real paths it was meant to cover.
 */
export function realPattern(pattern: string): string {
  const segs = segments(pattern)
  const firstGlob = segs.findIndex((s) => GLOB_CHARS.test(s))
  const literal = firstGlob < 0 ? segs : segs.slice(0, firstGlob)
  const rest = firstGlob < 0 ? [] : segs.slice(firstGlob)
  const real = resolveReal('/' + literal.join('/'))
  return rest.length === 0 ? real : path.posix.join(real, ...rest)
}

/**
 * path.resolve, then realpath of the longest existing ancestor with the missing tail appended,
 * so `..` and symlinks cannot move a path out of an allowed directory, even one not created yet.
 */
export function resolveReal(p: string): string {
  let current = path.resolve(p)
  const tail: string[] = []
  for (;;) {
    try {
      const real = fs.realpathSync.native(current)
      return tail.length === 0 ? real : path.join(real, ...tail.reverse())
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err
      // realpath says ENOENT for a dangling symlink too; its target could appear later, outside.
      if (code === 'ENOENT' && isSymlink(current)) throw new Error(`${current} is a dangling symbolic link`)
      const parent = path.dirname(current)
      if (parent === current) return path.resolve(p)
      tail.push(path.basename(current))
      current = parent
    }
  }
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink()
  } catch {
    return false
  }
}

export class AllowList {
  readonly entries: readonly AllowedPath[]

  constructor(entries: readonly string[]) {
    this.entries = entries.filter((e) => e.trim() !== '').map(parseAllowedPath)
  }

  /** Whether `realPath` (resolved with resolveReal) may be used, read-write if asked. */
  allows(realPath: string, readWrite: boolean): boolean {
    return this.entries.some(
      (e) => (!readWrite || e.readWrite) && globMatch(realPattern(e.pattern), realPath),
    )
  }
}
