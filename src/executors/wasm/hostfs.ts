// WASI file descriptors backed by the host filesystem (runs inside the worker).
//
// browser_wasi_shim only ships an in-memory filesystem, which would mean reading every
// input into RAM and copying outputs back after the run. These Fd subclasses map
// WASI calls onto synchronous node:fs calls instead: reads and writes go straight
// between the host file and the module's memory, so inputs stream and outputs land
// on disk as they are written. Every path is resolved through VirtualFs, which keeps
// it inside its mount (no `..` above the directory fd, no symlink leading out).
import fs from 'node:fs'
import { Fd, wasi } from '@bjorn3/browser_wasi_shim'
import { MAX_OPEN_FILES } from './protocol.js'
import { E, FsError, VirtualFs, errnoOf, joinVPath, type Mount, type Resolved } from './mounts.js'
import type { RingWriter } from './ring.js'

const R = (n: number): bigint => BigInt(n)
/** lookupflags bit: follow a symlink in the last path component. */
const SYMLINK_FOLLOW = 1

const FILE_READ_RIGHTS =
  R(wasi.RIGHTS_FD_READ) |
  R(wasi.RIGHTS_FD_SEEK) |
  R(wasi.RIGHTS_FD_TELL) |
  R(wasi.RIGHTS_FD_FILESTAT_GET) |
  R(wasi.RIGHTS_FD_ADVISE) |
  R(wasi.RIGHTS_FD_SYNC) |
  R(wasi.RIGHTS_FD_DATASYNC) |
  R(wasi.RIGHTS_FD_FDSTAT_SET_FLAGS) |
  R(wasi.RIGHTS_POLL_FD_READWRITE)
const FILE_WRITE_RIGHTS =
  R(wasi.RIGHTS_FD_WRITE) |
  R(wasi.RIGHTS_FD_ALLOCATE) |
  R(wasi.RIGHTS_FD_FILESTAT_SET_SIZE) |
  R(wasi.RIGHTS_FD_FILESTAT_SET_TIMES)
const DIR_READ_RIGHTS =
  R(wasi.RIGHTS_FD_READDIR) |
  R(wasi.RIGHTS_PATH_OPEN) |
  R(wasi.RIGHTS_PATH_FILESTAT_GET) |
  R(wasi.RIGHTS_PATH_READLINK) |
  R(wasi.RIGHTS_FD_FILESTAT_GET) |
  R(wasi.RIGHTS_FD_FDSTAT_SET_FLAGS)
const DIR_WRITE_RIGHTS =
  R(wasi.RIGHTS_PATH_CREATE_DIRECTORY) |
  R(wasi.RIGHTS_PATH_CREATE_FILE) |
  R(wasi.RIGHTS_PATH_RENAME_SOURCE) |
  R(wasi.RIGHTS_PATH_RENAME_TARGET) |
  R(wasi.RIGHTS_PATH_FILESTAT_SET_SIZE) |
  R(wasi.RIGHTS_PATH_FILESTAT_SET_TIMES) |
  R(wasi.RIGHTS_PATH_REMOVE_DIRECTORY) |
  R(wasi.RIGHTS_PATH_UNLINK_FILE)
const ALL_FILE_RIGHTS = FILE_READ_RIGHTS | FILE_WRITE_RIGHTS

const WANTS_WRITE = R(wasi.RIGHTS_FD_WRITE)
const WANTS_READ = R(wasi.RIGHTS_FD_READ) | R(wasi.RIGHTS_FD_READDIR)

/**
 * browser_wasi_shim 0.4.2 writes atim/mtim/ctim at offsets 38/46/52 instead of the
 * ABI's 40/48/56, which would hand programs garbage times; this writes the real layout.
 */
class Filestat extends wasi.Filestat {
  override write_bytes(view: DataView, ptr: number): void {
    view.setBigUint64(ptr, this.dev, true)
    view.setBigUint64(ptr + 8, this.ino, true)
    view.setUint8(ptr + 16, this.filetype)
    view.setBigUint64(ptr + 24, this.nlink, true)
    view.setBigUint64(ptr + 32, this.size, true)
    view.setBigUint64(ptr + 40, this.atim, true)
    view.setBigUint64(ptr + 48, this.mtim, true)
    view.setBigUint64(ptr + 56, this.ctim, true)
  }
}

function filetypeOf(st: fs.BigIntStats | fs.Dirent): number {
  if (st.isFile()) return wasi.FILETYPE_REGULAR_FILE
  if (st.isDirectory()) return wasi.FILETYPE_DIRECTORY
  if (st.isSymbolicLink()) return wasi.FILETYPE_SYMBOLIC_LINK
  if (st.isCharacterDevice()) return wasi.FILETYPE_CHARACTER_DEVICE
  if (st.isBlockDevice()) return wasi.FILETYPE_BLOCK_DEVICE
  if (st.isSocket()) return wasi.FILETYPE_SOCKET_STREAM
  return wasi.FILETYPE_UNKNOWN
}

function statOf(st: fs.BigIntStats): Filestat {
  const s = new Filestat(st.ino, filetypeOf(st), st.size)
  s.dev = st.dev
  s.nlink = st.nlink
  s.atim = st.atimeNs
  s.mtim = st.mtimeNs
  s.ctim = st.ctimeNs
  return s
}

/**
 * Host descriptors opened for the module. Node closes a worker's raw descriptors when
 * it exits (Worker trackUnmanagedFds, on by default and set explicitly by the
 * executor), which covers a terminated worker; this table closes them before a normal
 * end is reported and caps how many one module may hold, since they are a resource of
 * the whole process.
 */
export class HostFdTable {
  private readonly open_ = new Set<number>()

  open(path: string, flags: number, mode = 0o644): number {
    if (this.open_.size >= MAX_OPEN_FILES) throw new FsError(E.MFILE, 'too many open files')
    const fd = fs.openSync(path, flags, mode)
    this.open_.add(fd)
    return fd
  }

  close(fd: number): void {
    this.open_.delete(fd)
    fs.closeSync(fd)
  }

  closeAll(): void {
    for (const fd of this.open_) {
      try {
        fs.closeSync(fd)
      } catch {
        // already gone
      }
    }
    this.open_.clear()
  }
}

/** Everything the descriptors share: the mount layout and the host descriptor table. */
export class HostFs {
  readonly vfs: VirtualFs
  private readonly startNs = BigInt(Date.now()) * 1_000_000n
  private readonly virtualInos = new Map<string, bigint>()

  constructor(
    readonly mounts: readonly Mount[],
    readonly fds: HostFdTable,
  ) {
    this.vfs = new VirtualFs(mounts)
  }

  virtualStat(parts: readonly string[]): Filestat {
    const key = joinVPath(parts)
    let ino = this.virtualInos.get(key)
    if (ino === undefined) {
      // Far from real inode numbers, so a synthetic directory never aliases a host file.
      ino = (1n << 62n) + BigInt(this.virtualInos.size)
      this.virtualInos.set(key, ino)
    }
    const s = new Filestat(ino, wasi.FILETYPE_DIRECTORY, 0n)
    s.nlink = 1n
    s.atim = s.mtim = s.ctim = this.startNs
    return s
  }
}

/** Catches host and resolution errors and turns them into a wasi errno. */
function guard<T>(fallback: (errno: number) => NoInfer<T>, fn: () => NoInfer<T>): T {
  try {
    return fn()
  } catch (err) {
    return fallback(errnoOf(err))
  }
}

interface Target {
  parts: string[]
  res: Resolved
}

export class DirFd extends Fd {
  private listing: wasi.Dirent[] | undefined

  constructor(
    readonly hfs: HostFs,
    /** Absolute virtual path of this directory. */
    readonly parts: string[],
    readonly preopenName?: string,
  ) {
    super()
  }

  /**
   * Resolves a path relative to this directory. Like a real capability, a directory
   * fd cannot name anything above itself: `..` past its own level is ENOTCAPABLE.
   */
  private relParts(rel: string): string[] {
    if (rel.startsWith('/')) throw new FsError(E.NOTCAPABLE, 'absolute path')
    if (rel.includes('\0')) throw new FsError(E.INVAL, 'NUL in path')
    const out: string[] = []
    for (const c of rel.split('/')) {
      if (c === '' || c === '.') continue
      if (c === '..') {
        if (out.pop() === undefined) throw new FsError(E.NOTCAPABLE, 'path escapes its directory')
        continue
      }
      out.push(c)
    }
    return [...this.parts, ...out]
  }

  private target(rel: string): Target {
    const parts = this.relParts(rel)
    return { parts, res: this.hfs.vfs.resolve(parts) }
  }

  /** For creating `rel`: its resolution, or EROFS/ENOENT when its parent cannot hold it. */
  private creatable(rel: string): { parts: string[]; mount: Mount; rest: string[] } {
    const parts = this.relParts(rel)
    if (parts.length === 0) throw new FsError(E.EXIST, 'exists')
    let res: Resolved
    try {
      res = this.hfs.vfs.resolve(parts)
    } catch (err) {
      if (!(err instanceof FsError) || err.errno !== E.NOENT) throw err
      // Not under any mount: the parent is a synthetic directory (or missing).
      const parent = this.hfs.vfs.resolve(parts.slice(0, -1))
      throw new FsError(parent.kind === 'virtual' ? E.ROFS : E.NOENT, 'cannot create here')
    }
    if (res.kind === 'virtual') throw new FsError(E.EXIST, 'exists')
    if (res.mount.readOnly) throw new FsError(E.ROFS, 'read-only mount')
    return { parts, mount: res.mount, rest: res.rest }
  }

  /** For removing or renaming `rel`: refuses mount points, synthetic and read-only paths. */
  private mutable(rel: string): { mount: Mount; rest: string[]; path: string } {
    const { parts, res } = this.target(rel)
    if (res.kind === 'virtual' || res.rest.length === 0 || this.hfs.vfs.isAncestorOfMount(parts)) {
      throw new FsError(res.kind === 'host' && res.mount.readOnly ? E.ROFS : E.BUSY, 'mount point')
    }
    if (res.mount.readOnly) throw new FsError(E.ROFS, 'read-only mount')
    const hp = this.hfs.vfs.hostPath(res.mount, res.rest, false)
    if (!hp.exists) throw new FsError(E.NOENT, 'no such file or directory')
    return { mount: res.mount, rest: res.rest, path: hp.path }
  }

  override fd_prestat_get(): { ret: number; prestat: wasi.Prestat | null } {
    if (this.preopenName === undefined) return { ret: E.BADF, prestat: null }
    return { ret: 0, prestat: wasi.Prestat.dir(this.preopenName) }
  }

  override fd_fdstat_get(): { ret: number; fdstat: wasi.Fdstat | null } {
    const st = new wasi.Fdstat(wasi.FILETYPE_DIRECTORY, 0)
    st.fs_rights_base = DIR_READ_RIGHTS | DIR_WRITE_RIGHTS
    st.fs_rights_inherited = DIR_READ_RIGHTS | DIR_WRITE_RIGHTS | ALL_FILE_RIGHTS
    return { ret: 0, fdstat: st }
  }

  override fd_filestat_get(): { ret: number; filestat: wasi.Filestat | null } {
    return this.path_filestat_get(SYMLINK_FOLLOW, '.')
  }

  override fd_fdstat_set_flags(): number {
    return 0
  }

  override fd_read(): { ret: number; data: Uint8Array } {
    return { ret: E.ISDIR, data: new Uint8Array() }
  }
  override fd_pread(): { ret: number; data: Uint8Array } {
    return { ret: E.ISDIR, data: new Uint8Array() }
  }
  override fd_write(): { ret: number; nwritten: number } {
    return { ret: E.BADF, nwritten: 0 }
  }
  override fd_pwrite(): { ret: number; nwritten: number } {
    return { ret: E.BADF, nwritten: 0 }
  }

  override fd_readdir_single(cookie: bigint): { ret: number; dirent: wasi.Dirent | null } {
    return guard(
      (ret) => ({ ret, dirent: null }),
      () => {
        if (cookie === 0n || this.listing === undefined) this.listing = this.list()
        const i = Number(cookie)
        return { ret: 0, dirent: i < this.listing.length ? this.listing[i]! : null }
      },
    )
  }

  /** Snapshot of the directory: host entries plus mount points and synthetic dirs below it. */
  private list(): wasi.Dirent[] {
    const names: [string, bigint, number][] = []
    const res = this.hfs.vfs.resolve(this.parts)
    const self = this.path_filestat_get(SYMLINK_FOLLOW, '.').filestat
    names.push(['.', self?.ino ?? 0n, wasi.FILETYPE_DIRECTORY])
    names.push(['..', 0n, wasi.FILETYPE_DIRECTORY])
    const seen = new Set<string>()
    for (const name of this.hfs.vfs.virtualChildren(this.parts)) {
      const child = [...this.parts, name]
      const st = this.path_filestat_get(SYMLINK_FOLLOW, name).filestat
      names.push([name, st?.ino ?? this.hfs.virtualStat(child).ino, st?.filetype ?? wasi.FILETYPE_DIRECTORY])
      seen.add(name)
    }
    if (res.kind === 'host') {
      const dir = this.hfs.vfs.hostPath(res.mount, res.rest).path
      for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
        if (seen.has(ent.name)) continue
        let ino = 0n
        try {
          ino = fs.lstatSync(`${dir}/${ent.name}`, { bigint: true }).ino
        } catch {
          // vanished since readdir
        }
        names.push([ent.name, ino, filetypeOf(ent)])
      }
    }
    return names.map(([name, ino, type], i) => new wasi.Dirent(BigInt(i + 1), ino, name, type))
  }

  override path_filestat_get(flags: number, path: string): { ret: number; filestat: wasi.Filestat | null } {
    return guard(
      (ret) => ({ ret, filestat: null }),
      () => {
        const { parts, res } = this.target(path)
        if (res.kind === 'virtual') return { ret: 0, filestat: this.hfs.virtualStat(parts) }
        const follow = (flags & SYMLINK_FOLLOW) !== 0
        const hp = this.hfs.vfs.hostPath(res.mount, res.rest, follow)
        if (!hp.exists) {
          if (this.hfs.vfs.isAncestorOfMount(parts)) return { ret: 0, filestat: this.hfs.virtualStat(parts) }
          return { ret: E.NOENT, filestat: null }
        }
        const st = follow ? fs.statSync(hp.path, { bigint: true }) : fs.lstatSync(hp.path, { bigint: true })
        return { ret: 0, filestat: statOf(st) }
      },
    )
  }

  override path_filestat_set_times(
    flags: number,
    path: string,
    atim: bigint,
    mtim: bigint,
    fstFlags: number,
  ): number {
    return guard(
      (e) => e,
      () => {
        const { res } = this.target(path)
        if (res.kind === 'virtual' || res.mount.readOnly) return E.ROFS
        const follow = (flags & SYMLINK_FOLLOW) !== 0
        const hp = this.hfs.vfs.hostPath(res.mount, res.rest, follow)
        if (!hp.exists) return E.NOENT
        const st = fs.lstatSync(hp.path, { bigint: true })
        const [a, m] = pickTimes(st, atim, mtim, fstFlags)
        if (follow) fs.utimesSync(hp.path, a, m)
        else fs.lutimesSync(hp.path, a, m)
        return 0
      },
    )
  }

  override path_open(
    dirflags: number,
    path: string,
    oflags: number,
    rightsBase: bigint,
    _rightsInheriting: bigint,
    fdflags: number,
  ): { ret: number; fd_obj: Fd | null } {
    return guard(
      (ret) => ({ ret, fd_obj: null }),
      () => {
        const create = (oflags & wasi.OFLAGS_CREAT) !== 0
        const excl = (oflags & wasi.OFLAGS_EXCL) !== 0
        const trunc = (oflags & wasi.OFLAGS_TRUNC) !== 0
        const wantDir = (oflags & wasi.OFLAGS_DIRECTORY) !== 0 || path.endsWith('/')
        const write = (rightsBase & WANTS_WRITE) !== 0n || trunc
        const read = (rightsBase & WANTS_READ) !== 0n || !write

        let parts: string[]
        let res: Resolved
        try {
          ;({ parts, res } = this.target(path))
        } catch (err) {
          if (!create || !(err instanceof FsError) || err.errno !== E.NOENT) throw err
          this.creatable(path) // throws the right errno (EROFS under a synthetic dir)
          throw err
        }
        if (res.kind === 'virtual') {
          if (create && excl) return { ret: E.EXIST, fd_obj: null }
          if (write) return { ret: E.ISDIR, fd_obj: null }
          return { ret: 0, fd_obj: new DirFd(this.hfs, parts) }
        }
        const follow = (dirflags & SYMLINK_FOLLOW) !== 0
        const hp = this.hfs.vfs.hostPath(res.mount, res.rest, follow)
        if (hp.exists) {
          if (create && excl) return { ret: E.EXIST, fd_obj: null }
          const st = follow ? fs.statSync(hp.path) : fs.lstatSync(hp.path)
          if (st.isDirectory()) {
            if (write) return { ret: E.ISDIR, fd_obj: null }
            return { ret: 0, fd_obj: new DirFd(this.hfs, parts) }
          }
          if (wantDir) return { ret: E.NOTDIR, fd_obj: null }
          if (write && res.mount.readOnly) return { ret: E.ROFS, fd_obj: null }
        } else {
          if (this.hfs.vfs.isAncestorOfMount(parts)) {
            if (write) return { ret: E.ISDIR, fd_obj: null }
            return { ret: 0, fd_obj: new DirFd(this.hfs, parts) }
          }
          if (!create) return { ret: E.NOENT, fd_obj: null }
          if (wantDir) return { ret: E.INVAL, fd_obj: null }
          if (res.mount.readOnly) return { ret: E.ROFS, fd_obj: null }
        }
        const c = fs.constants
        let flags = write ? (read ? c.O_RDWR : c.O_WRONLY) : c.O_RDONLY
        // O_NOFOLLOW: the path is already canonical, so a symlink here can only be a
        // dangling one (or an unfollowed last component) that must not be created through.
        flags |= c.O_NOFOLLOW
        if (create) flags |= c.O_CREAT
        if (excl) flags |= c.O_EXCL
        if (trunc) flags |= c.O_TRUNC
        const fd = this.hfs.fds.open(hp.path, flags)
        let seekable = true
        try {
          const st = fs.fstatSync(fd)
          seekable = st.isFile() || st.isBlockDevice()
        } catch {
          // keep the default
        }
        const append = (fdflags & wasi.FDFLAGS_APPEND) !== 0
        return { ret: 0, fd_obj: new FileFd(this.hfs, fd, read, write, append, seekable) }
      },
    )
  }

  override path_create_directory(path: string): number {
    return guard(
      (e) => e,
      () => {
        const { mount, rest } = this.creatable(path)
        const hp = this.hfs.vfs.hostPath(mount, rest, false)
        if (hp.exists) return E.EXIST
        fs.mkdirSync(hp.path, 0o755)
        return 0
      },
    )
  }

  override path_unlink_file(path: string): number {
    return guard(
      (e) => e,
      () => {
        const t = this.mutable(path)
        if (fs.lstatSync(t.path).isDirectory()) return E.ISDIR
        fs.unlinkSync(t.path)
        return 0
      },
    )
  }

  override path_remove_directory(path: string): number {
    return guard(
      (e) => e,
      () => {
        const t = this.mutable(path)
        if (!fs.lstatSync(t.path).isDirectory()) return E.NOTDIR
        fs.rmdirSync(t.path)
        return 0
      },
    )
  }

  /** Called by the executor's own path_rename (the shim's relinks in-memory inodes). */
  rename(oldPath: string, to: DirFd, newPath: string): number {
    return guard(
      (e) => e,
      () => {
        const from = this.mutable(oldPath)
        const dest = to.creatable(newPath)
        if (dest.mount !== from.mount) return E.XDEV
        if (dest.rest.length === 0 || this.hfs.vfs.isAncestorOfMount(dest.parts)) return E.BUSY
        const hp = this.hfs.vfs.hostPath(dest.mount, dest.rest, false)
        fs.renameSync(from.path, hp.path)
        return 0
      },
    )
  }

  override path_readlink(path: string): { ret: number; data: string | null } {
    return guard(
      (ret) => ({ ret, data: null }),
      () => {
        const { res } = this.target(path)
        if (res.kind === 'virtual') return { ret: E.INVAL, data: null }
        const hp = this.hfs.vfs.hostPath(res.mount, res.rest, false)
        if (!hp.exists) return { ret: E.NOENT, data: null }
        return { ret: 0, data: fs.readlinkSync(hp.path) }
      },
    )
  }
}

function pickTimes(st: fs.BigIntStats, atim: bigint, mtim: bigint, fst: number): [number, number] {
  const now = Date.now() / 1000
  const a =
    fst & wasi.FSTFLAGS_ATIM_NOW
      ? now
      : fst & wasi.FSTFLAGS_ATIM
        ? Number(atim) / 1e9
        : Number(st.atimeNs) / 1e9
  const m =
    fst & wasi.FSTFLAGS_MTIM_NOW
      ? now
      : fst & wasi.FSTFLAGS_MTIM
        ? Number(mtim) / 1e9
        : Number(st.mtimeNs) / 1e9
  return [a, m]
}

export class FileFd extends Fd {
  pos = 0n
  private closed = false

  constructor(
    readonly hfs: HostFs,
    readonly fd: number,
    readonly readable: boolean,
    readonly writable: boolean,
    private append: boolean,
    private readonly seekable: boolean,
  ) {
    super()
  }

  /** Reads into the module's memory directly; returns bytes read (0 at EOF). */
  readInto(mem: Uint8Array, off: number, len: number, at?: bigint): number {
    if (!this.readable) throw new FsError(E.BADF, 'not open for reading')
    if (!this.seekable) return fs.readSync(this.fd, mem, off, len, null)
    const n = fs.readSync(this.fd, mem, off, len, at ?? this.pos)
    if (at === undefined) this.pos += BigInt(n)
    return n
  }

  /** Writes from the module's memory directly; returns bytes written. */
  writeFrom(mem: Uint8Array, off: number, len: number, at?: bigint): number {
    if (!this.writable) throw new FsError(E.BADF, 'not open for writing')
    if (!this.seekable) return fs.writeSync(this.fd, mem, off, len, null)
    if (at === undefined && this.append) this.pos = fs.fstatSync(this.fd, { bigint: true }).size
    const n = fs.writeSync(this.fd, mem, off, len, Number(at ?? this.pos))
    if (at === undefined) this.pos += BigInt(n)
    return n
  }

  // The shim's generic (copying) paths; the executor overrides fd_read/fd_write & co.
  // to call readInto/writeFrom, but these keep the Fd contract complete.
  override fd_read(size: number): { ret: number; data: Uint8Array } {
    return guard(
      (ret) => ({ ret, data: new Uint8Array() }),
      () => {
        const buf = new Uint8Array(size)
        const n = this.readInto(buf, 0, size)
        return { ret: 0, data: buf.subarray(0, n) }
      },
    )
  }
  override fd_pread(size: number, offset: bigint): { ret: number; data: Uint8Array } {
    return guard(
      (ret) => ({ ret, data: new Uint8Array() }),
      () => {
        if (!this.seekable) return { ret: E.SPIPE, data: new Uint8Array() }
        const buf = new Uint8Array(size)
        const n = this.readInto(buf, 0, size, offset)
        return { ret: 0, data: buf.subarray(0, n) }
      },
    )
  }
  override fd_write(data: Uint8Array): { ret: number; nwritten: number } {
    return guard(
      (ret) => ({ ret, nwritten: 0 }),
      () => ({ ret: 0, nwritten: this.writeFrom(data, 0, data.length) }),
    )
  }
  override fd_pwrite(data: Uint8Array, offset: bigint): { ret: number; nwritten: number } {
    return guard(
      (ret) => ({ ret, nwritten: 0 }),
      () => {
        if (!this.seekable) return { ret: E.SPIPE, nwritten: 0 }
        return { ret: 0, nwritten: this.writeFrom(data, 0, data.length, offset) }
      },
    )
  }

  override fd_seek(offset: bigint, whence: number): { ret: number; offset: bigint } {
    return guard(
      (ret) => ({ ret, offset: 0n }),
      () => {
        if (!this.seekable) return { ret: E.SPIPE, offset: 0n }
        let base: bigint
        if (whence === wasi.WHENCE_SET) base = 0n
        else if (whence === wasi.WHENCE_CUR) base = this.pos
        else if (whence === wasi.WHENCE_END) base = fs.fstatSync(this.fd, { bigint: true }).size
        else return { ret: E.INVAL, offset: 0n }
        const next = base + offset
        if (next < 0n) return { ret: E.INVAL, offset: 0n }
        this.pos = next
        return { ret: 0, offset: next }
      },
    )
  }

  override fd_tell(): { ret: number; offset: bigint } {
    if (!this.seekable) return { ret: E.SPIPE, offset: 0n }
    return { ret: 0, offset: this.pos }
  }

  override fd_filestat_get(): { ret: number; filestat: wasi.Filestat | null } {
    return guard(
      (ret) => ({ ret, filestat: null }),
      () => ({ ret: 0, filestat: statOf(fs.fstatSync(this.fd, { bigint: true })) }),
    )
  }

  override fd_filestat_set_size(size: bigint): number {
    return guard(
      (e) => e,
      () => {
        if (!this.writable) return E.BADF
        fs.ftruncateSync(this.fd, Number(size))
        return 0
      },
    )
  }

  override fd_allocate(offset: bigint, len: bigint): number {
    return guard(
      (e) => e,
      () => {
        if (!this.writable) return E.BADF
        const size = fs.fstatSync(this.fd, { bigint: true }).size
        if (offset + len > size) fs.ftruncateSync(this.fd, Number(offset + len))
        return 0
      },
    )
  }

  override fd_filestat_set_times(atim: bigint, mtim: bigint, fstFlags: number): number {
    return guard(
      (e) => e,
      () => {
        if (!this.writable) return E.BADF
        const [a, m] = pickTimes(fs.fstatSync(this.fd, { bigint: true }), atim, mtim, fstFlags)
        fs.futimesSync(this.fd, a, m)
        return 0
      },
    )
  }

  override fd_fdstat_get(): { ret: number; fdstat: wasi.Fdstat | null } {
    const st = new wasi.Fdstat(wasi.FILETYPE_REGULAR_FILE, this.append ? wasi.FDFLAGS_APPEND : 0)
    st.fs_rights_base = (this.readable ? FILE_READ_RIGHTS : 0n) | (this.writable ? FILE_WRITE_RIGHTS : 0n)
    st.fs_rights_inherited = 0n
    return { ret: 0, fdstat: st }
  }

  override fd_fdstat_set_flags(flags: number): number {
    this.append = (flags & wasi.FDFLAGS_APPEND) !== 0
    return 0
  }

  override fd_sync(): number {
    return guard(
      (e) => e,
      () => {
        fs.fsyncSync(this.fd)
        return 0
      },
    )
  }

  override fd_close(): number {
    if (this.closed) return E.BADF
    this.closed = true
    return guard(
      (e) => e,
      () => {
        this.hfs.fds.close(this.fd)
        return 0
      },
    )
  }
}

/** stdout/stderr: each write goes into the shared ring the parent drains. */
export class OutputFd extends Fd {
  constructor(private readonly ring: RingWriter) {
    super()
  }

  override fd_write(data: Uint8Array): { ret: number; nwritten: number } {
    this.ring.write(data)
    return { ret: 0, nwritten: data.byteLength }
  }

  // Reported as a non-terminal stream (like Docker without a TTY): libc then buffers
  // stdout fully and programs do not switch on terminal-only behaviour such as colours.
  override fd_fdstat_get(): { ret: number; fdstat: wasi.Fdstat | null } {
    const st = new wasi.Fdstat(wasi.FILETYPE_UNKNOWN, 0)
    st.fs_rights_base = R(wasi.RIGHTS_FD_WRITE) | R(wasi.RIGHTS_POLL_FD_READWRITE)
    return { ret: 0, fdstat: st }
  }

  override fd_filestat_get(): { ret: number; filestat: wasi.Filestat | null } {
    return { ret: 0, filestat: new Filestat(0n, wasi.FILETYPE_UNKNOWN, 0n) }
  }
}

/** stdin: always at end of file (batch jobs have no input stream). */
export class EmptyInputFd extends Fd {
  override fd_read(): { ret: number; data: Uint8Array } {
    return { ret: 0, data: new Uint8Array() }
  }
  override fd_fdstat_get(): { ret: number; fdstat: wasi.Fdstat | null } {
    const st = new wasi.Fdstat(wasi.FILETYPE_UNKNOWN, 0)
    st.fs_rights_base = R(wasi.RIGHTS_FD_READ) | R(wasi.RIGHTS_POLL_FD_READWRITE)
    return { ret: 0, fdstat: st }
  }
  override fd_filestat_get(): { ret: number; filestat: wasi.Filestat | null } {
    return { ret: 0, filestat: new Filestat(0n, wasi.FILETYPE_UNKNOWN, 0n) }
  }
}
