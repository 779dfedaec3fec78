// `job get`: fetch a job's published results into a local folder (bacalhau-behaviour.md §5).
// Each result is downloaded into <out>/raw/, archives are extracted and merged into <out>,
// appending stdout/stderr/exitCode across executions; raw/ is then removed.
import * as tar from 'tar'
import fs from 'node:fs'
import path from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import type { ApiClient } from '../api/client.js'
import { paramValue } from '../models/ci.js'
import type { SpecConfig } from '../models/job.js'
import { extractResultsArchive } from '../publishers/local/archive.js'
import type { CliContext } from './context.js'
import { CliError } from './errors.js'
import { downloadProgress } from './download-progress.js'

export interface JobGetOptions {
  outputDir?: string
  raw?: boolean
  timeoutMs: number
  namespace?: string
}

/** `raw/` file name for a result URL: host+path with unsafe characters replaced by `_`. */
export function rawFileName(url: string): string {
  const u = new URL(url)
  const name = (u.host + u.pathname).replace(/[/\\:*?"<>|]/g, '_')
  return name || 'result'
}

/** The URL a downloadable result is fetched from, or undefined when the CLI cannot fetch it. */
export function downloadUrl(result: SpecConfig, apiBase?: string): string | undefined {
  const type = (result.Type ?? '').toLowerCase()
  if (type === 'urldownload') return stringParam(result.Params, 'URL')
  if (type === 's3presigned') return stringParam(result.Params, 'PreSignedURL')
  // IPFS results come through the node the CLI talks to, from its embedded IPFS node.
  const cid = type === 'ipfs' ? stringParam(result.Params, 'CID') : undefined
  if (cid && apiBase) return `${apiBase}/api/v1/ipfs/get/${encodeURIComponent(cid)}`
  return undefined
}

function stringParam(params: Record<string, unknown> | undefined, name: string): string | undefined {
  const v = paramValue(params, name)
  return typeof v === 'string' && v ? v : undefined
}

async function fetchTo(url: string, dest: string, signal: AbortSignal, label: string): Promise<void> {
  let res: Response
  try {
    res = await fetch(url, { signal })
  } catch (e) {
    if (signal.aborted)
      throw new CliError(`download of ${url} timed out`, { hint: 'raise --download-timeout-secs' })
    const cause = (e as { cause?: { code?: string; message?: string } }).cause
    throw new CliError(
      `cannot download ${url}: ${cause?.code === 'ECONNREFUSED' ? 'connection refused' : (cause?.message ?? (e as Error).message)}`,
    )
  }
  if (!res.ok) {
    const body = (await res.text().catch(() => '')).slice(0, 1024 * 1024).trim()
    throw new CliError(`cannot download ${url}: HTTP ${res.status}${body ? `: ${body}` : ''}`)
  }
  if (!res.body) throw new CliError(`cannot download ${url}: empty response`)
  const progress = downloadProgress(label, Number(res.headers.get('content-length') ?? 0) || 0)
  let received = 0
  const counted = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      received += chunk.byteLength
      progress.update(received)
      cb(null, chunk)
    },
  })
  try {
    await pipeline(
      Readable.fromWeb(res.body as unknown as WebReadableStream),
      counted,
      fs.createWriteStream(dest),
    )
  } catch (e) {
    if (signal.aborted)
      throw new CliError(`download of ${url} timed out`, { hint: 'raise --download-timeout-secs' })
    throw new CliError(`cannot download ${url}: ${(e as Error).message}`)
  } finally {
    progress.stop()
  }
}

const APPENDABLE = new Set(['stdout', 'stderr', 'exitCode'])

/**
 * Moves the contents of each source folder into `outDir`. With several sources the
 * top-level stdout/stderr/exitCode are appended; any other clash is an error.
 */
export async function mergeResults(sources: string[], outDir: string): Promise<void> {
  const several = sources.length > 1
  const clash = (p: string) =>
    new CliError(
      `cannot merge results as output already exists: ${p}. Try --raw to download raw results instead of merging them`,
    )
  const mergeDir = async (src: string, dst: string, topLevel: boolean) => {
    await fs.promises.mkdir(dst, { recursive: true })
    for (const entry of await fs.promises.readdir(src, { withFileTypes: true })) {
      const from = path.join(src, entry.name)
      const to = path.join(dst, entry.name)
      const existing = await fs.promises.lstat(to).catch(() => undefined)
      if (entry.isDirectory()) {
        if (existing && !existing.isDirectory()) throw clash(to)
        if (!existing) await fs.promises.rename(from, to)
        else await mergeDir(from, to, false)
        continue
      }
      if (existing) {
        if (several && topLevel && APPENDABLE.has(entry.name) && existing.isFile()) {
          await fs.promises.appendFile(to, await fs.promises.readFile(from))
          continue
        }
        throw clash(to)
      }
      await fs.promises.rename(from, to)
    }
  }
  for (const s of sources) await mergeDir(s, outDir, true)
}

const archivePattern = /\.(tar\.gz|tgz)$/i

/** Downloads, extracts and merges a job's results; prints Bacalhau's messages. */
export async function getJobResults(
  ctx: CliContext,
  client: ApiClient,
  arg: string,
  o: JobGetOptions,
): Promise<void> {
  ctx.err(`Fetching results of job '${arg}'...\n`)
  const results = (await client.jobResults(arg, o.namespace)).Items ?? []
  if (results.length === 0) {
    ctx.out(
      `No results found\nYou can check the logged output of the job using the logs command.\n\n  bacalhau job logs ${arg}\n`,
    )
    return
  }
  if (results.some((r) => !downloadUrl(r, client.baseUrl))) {
    ctx.err(
      'No supported downloader found for the published results. You will have to download the results differently.\n',
    )
    ctx.err(JSON.stringify(results, null, 2) + '\n')
    return
  }

  const ns = o.namespace && o.namespace !== 'default' ? `${o.namespace}-` : ''
  const outDir = path.resolve(o.outputDir ?? `job-${ns}${arg.replace(/[/\\]/g, '_')}`)
  fs.mkdirSync(outDir, { recursive: true, mode: 0o755 })
  const rawDir = path.join(outDir, 'raw')
  fs.mkdirSync(rawDir, { recursive: true })

  const signal = AbortSignal.timeout(o.timeoutMs)
  const downloaded: string[] = []
  const used = new Set<string>()
  const ipfsFolders: string[] = []
  for (const r of results) {
    const url = downloadUrl(r, client.baseUrl)!
    if ((r.Type ?? '').toLowerCase() === 'ipfs') {
      // Fetched as a tar of raw/<CID>, as Bacalhau keeps IPFS results: a folder, not an archive.
      const cid = stringParam(r.Params, 'CID')!
      const tarFile = path.join(rawDir, `${cid}.tar`)
      await fetchTo(url, tarFile, signal, `Downloading ${cid.slice(0, 16)}…`)
      await tar.x({ file: tarFile, cwd: rawDir, strict: true })
      fs.rmSync(tarFile)
      ipfsFolders.push(path.join(rawDir, cid))
      continue
    }
    let name = rawFileName(url)
    for (let i = 1; used.has(name); i++) name = `${i}_${rawFileName(url)}`
    used.add(name)
    const dest = path.join(rawDir, name)
    await fetchTo(url, dest, signal, `Downloading ${name.slice(0, 24)}`)
    downloaded.push(dest)
  }
  if (!o.raw) {
    const folders: string[] = [...ipfsFolders]
    for (const file of downloaded) {
      if (archivePattern.test(file)) {
        const folder = file.replace(archivePattern, '')
        try {
          await extractResultsArchive(file, folder)
        } catch (e) {
          throw new CliError(`cannot extract ${path.basename(file)}: ${(e as Error).message}`)
        }
        folders.push(folder)
      } else {
        // A plain file result: merge it as a file of its own.
        const folder = `${file}.d`
        fs.mkdirSync(folder)
        fs.renameSync(file, path.join(folder, path.basename(file)))
        folders.push(folder)
      }
    }
    await mergeResults(folders, outDir)
    fs.rmSync(rawDir, { recursive: true, force: true })
  }
  ctx.out(`Results for job '${arg}' have been written to...\n${outDir}\n`)
}
