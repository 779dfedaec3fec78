// Results archives (the local publisher's tar.gz, bacalhau-api.md §6.1) and safe tar
// extraction, shared by `job get` and the inline input source. Archives from jobs or users
// are untrusted: every entry is checked before anything is written, and again while writing.
import fs from 'node:fs'
import path from 'node:path'
import * as tar from 'tar'

/** The files every results directory starts with, archived first in this order. */
const WELL_KNOWN = ['stdout', 'stderr', 'exitCode']

/**
 * Writes a gzipped tar of `resultsDir` to `outFile`. Entry names are relative to the
 * directory (`./`, then `stdout`, `stderr`, `exitCode`, `<name>/...`), with no enclosing folder.
 */
export async function createResultsArchive(resultsDir: string, outFile: string): Promise<void> {
  const entries = await listResultsEntries(resultsDir)
  await tar.c(
    {
      gzip: true,
      file: outFile,
      cwd: resultsDir,
      // portable drops host uid/gid/user names, which are nobody else's business.
      portable: true,
      // The entry list is computed here, so node-tar must not add directory contents again.
      noDirRecurse: true,
    },
    ['.', ...entries],
  )
}

/**
 * Lists what to archive, depth-first, the well-known files first. Symlinks are archived as
 * links (never followed, or a task could publish host files by linking to them); sockets,
 * FIFOs and devices are skipped because reading them could block or leak.
 */
async function listResultsEntries(root: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (rel: string): Promise<void> => {
    const names = (await fs.promises.readdir(path.join(root, rel))).sort()
    if (rel === '') {
      const first = WELL_KNOWN.filter((n) => names.includes(n))
      names.splice(0, names.length, ...first, ...names.filter((n) => !WELL_KNOWN.includes(n)))
    }
    for (const name of names) {
      const relPath = rel === '' ? name : `${rel}/${name}`
      const st = await fs.promises.lstat(path.join(root, relPath))
      if (st.isDirectory()) {
        out.push(relPath)
        await walk(relPath)
      } else if (st.isFile() || st.isSymbolicLink()) {
        out.push(relPath)
      }
    }
  }
  await walk('')
  return out
}

export interface ExtractOptions {
  /** Cap on the sum of the entries' sizes; the archive is refused beyond it. */
  maxBytes?: number
  /** Prefix for error messages ("inline input", "results"). */
  context?: string
}

/** Extracts a results archive downloaded by `job get` into `destDir` (created if missing). */
export function extractResultsArchive(
  tarGzPath: string,
  destDir: string,
  opts: ExtractOptions = {},
): Promise<void> {
  return extractArchiveSafely(tarGzPath, destDir, { context: 'results archive', ...opts })
}

interface EntryLike {
  path: string
  type: string
  linkpath?: string
  size?: number
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile'])

/**
 * Stateful checker: some attacks only show across entries (an entry that replaces a
 * directory other entries were written into, a hard link to something not in the archive).
 */
export class ArchiveEntryChecker {
  private readonly seen = new Map<string, 'dir' | 'other'>()
  private total = 0

  constructor(private readonly maxBytes = Infinity) {}

  /** Returns why the entry is unsafe, or undefined. */
  check(entry: EntryLike): string | undefined {
    const raw = entry.path
    const reason = unsafePath(raw)
    if (reason) return `${reason}: ${JSON.stringify(raw)}`
    const rel = normalizeEntryPath(raw)
    const isDir = entry.type === 'Directory'

    if (!isDir && !FILE_TYPES.has(entry.type) && entry.type !== 'SymbolicLink' && entry.type !== 'Link') {
      return `unsupported entry type ${entry.type}: ${JSON.stringify(raw)}`
    }
    if (rel === '.') return isDir ? undefined : `the archive root must be a directory: ${JSON.stringify(raw)}`

    if (entry.type === 'SymbolicLink') {
      const why = unsafeSymlink(rel, entry.linkpath ?? '')
      if (why) return `${why}: ${JSON.stringify(raw)} -> ${JSON.stringify(entry.linkpath)}`
    } else if (entry.type === 'Link') {
      const target = entry.linkpath ?? ''
      const why = unsafePath(target)
      if (why) return `hard link ${why}: ${JSON.stringify(raw)} -> ${JSON.stringify(target)}`
      if (this.seen.get(normalizeEntryPath(target)) !== 'other') {
        return `hard link target is not an earlier file in the archive: ${JSON.stringify(raw)} -> ${JSON.stringify(target)}`
      }
    }

    // A non-directory may not take the place of a directory that holds other entries, and
    // nothing may be written below a non-directory: either could redirect later writes.
    const previous = this.seen.get(rel)
    if (previous !== undefined && !(previous === 'dir' && isDir))
      return `duplicate entry: ${JSON.stringify(raw)}`
    const parts = rel.split('/')
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/')
      if (this.seen.get(parent) === 'other') return `entry is below a non-directory: ${JSON.stringify(raw)}`
      this.seen.set(parent, 'dir')
    }
    this.seen.set(rel, isDir ? 'dir' : 'other')

    if (FILE_TYPES.has(entry.type)) {
      this.total += entry.size ?? 0
      if (this.total > this.maxBytes) return `archive content exceeds the ${this.maxBytes}-byte limit`
    }
    return undefined
  }
}

/** Strips leading `./` and trailing `/` so that equal paths compare equal. */
function normalizeEntryPath(p: string): string {
  const n = path.posix.normalize(p).replace(/\/+$/, '')
  return n === '' ? '.' : n
}

function unsafePath(p: string): string | undefined {
  if (p.includes('\0')) return 'path contains a NUL byte'
  if (p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:/.test(p)) return 'absolute path'
  if (p.split(/[\\/]/).includes('..')) return 'path contains ..'
  return undefined
}

/**
 * Symlink targets are resolved relative to the link's directory. Only leading `..` segments
 * are allowed: a `..` after a name could step out through another symlink (`x -> .`,
 * `y -> x/../..`) even though the text looks contained, and leading ones are counted
 * against the link's real depth (node-tar refuses to extract through symlinks, so the
 * link's parents are real directories).
 */
function unsafeSymlink(rel: string, target: string): string | undefined {
  if (target === '') return 'empty symlink target'
  if (target.includes('\0')) return 'symlink target contains a NUL byte'
  if (target.startsWith('/') || target.startsWith('\\') || /^[A-Za-z]:/.test(target)) {
    return 'symlink points to an absolute path'
  }
  const segs = target.split('/').filter((s) => s !== '' && s !== '.')
  let ups = 0
  while (ups < segs.length && segs[ups] === '..') ups++
  if (segs.slice(ups).includes('..')) return 'symlink target has .. after a name'
  if (segs.some((s) => s.includes('\\'))) return 'symlink target contains a backslash'
  const depth = rel.split('/').length - 1
  if (ups > depth) return 'symlink points outside the destination'
  return undefined
}

/**
 * Extracts a (gzipped or plain) tar into `destDir`. A first pass checks every entry and
 * refuses the whole archive on the first unsafe one, so nothing is half-extracted; the
 * second pass re-checks each entry as it is written in case the file changed in between.
 */
export async function extractArchiveSafely(
  file: string,
  destDir: string,
  opts: ExtractOptions = {},
): Promise<void> {
  const ctx = opts.context ?? 'archive'
  const maxBytes = opts.maxBytes ?? Infinity
  await scanArchive(file, new ArchiveEntryChecker(maxBytes), ctx)

  await fs.promises.mkdir(destDir, { recursive: true })
  const checker = new ArchiveEntryChecker(maxBytes)
  let refused: string | undefined
  try {
    await tar.x({
      file,
      cwd: destDir,
      strict: true,
      preservePaths: false,
      // As root node-tar would chown to the archive's uids: the archive must not choose owners.
      preserveOwner: false,
      filter: (_p, entry) => {
        if (refused) return false
        if (!('type' in entry)) return false
        const why = checker.check(entry)
        if (why) {
          refused = why
          return false
        }
        // setuid/setgid/sticky bits from an untrusted archive are never wanted.
        if (entry.mode !== undefined) entry.mode &= 0o777
        return true
      },
    })
  } catch (err) {
    throw new Error(`${ctx}: cannot extract: ${errorMessage(err)}`, { cause: err })
  }
  if (refused) throw new Error(`${ctx}: unsafe archive entry: ${refused}`)
}

/** Reads the whole archive without writing anything, stopping at the first unsafe entry. */
async function scanArchive(file: string, checker: ArchiveEntryChecker, ctx: string): Promise<void> {
  let refused: string | undefined
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      if (!refused) {
        const why = checker.check(entry)
        if (why) {
          refused = why
          parser.abort(new Error(why))
        }
      }
      entry.resume()
    },
  })
  const done = new Promise<void>((resolve, reject) => {
    parser.on('error', reject)
    parser.on('end', () => resolve())
  })
  // Parser errors arrive as events: keep one handler attached while we are still writing.
  done.catch(() => undefined)

  const input = fs.createReadStream(file)
  try {
    for await (const chunk of input) {
      if (refused) break
      if (!parser.write(chunk as Buffer)) {
        await Promise.race([new Promise((r) => parser.once('drain', r)), done])
      }
    }
    if (!refused) parser.end()
    await done
  } catch (err) {
    if (refused) throw new Error(`${ctx}: unsafe archive entry: ${refused}`)
    throw new Error(`${ctx}: not a valid tar archive: ${errorMessage(err)}`, { cause: err })
  } finally {
    input.destroy()
  }
  if (refused) throw new Error(`${ctx}: unsafe archive entry: ${refused}`)
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
