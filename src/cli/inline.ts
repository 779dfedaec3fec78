// Embeds a local file or folder in a job as an `inline` input: small files as a plain
// data: URL, anything larger (or a folder) as a gzip'd tar data: URL, which the node
// unpacks into a directory (bacalhau-api.md §5.3).
import fs from 'node:fs'
import path from 'node:path'
import { create as tarCreate } from 'tar'
import { CliError } from './errors.js'

export const INLINE_PLAIN_LIMIT = 512
export const INLINE_MAX_BYTES = 10 * 1024 * 1024

export interface InlineData {
  url: string
  /** True when the data is a tar.gz that unpacks to a directory. */
  archived: boolean
}

/** Media type for a plain data: URL, sniffed like Go's http.DetectContentType would. */
export function sniffMediaType(data: Uint8Array): string {
  if (data.length >= 4 && data[0] === 0 && data[1] === 0x61 && data[2] === 0x73 && data[3] === 0x6d)
    return 'application/wasm'
  if (data.includes(0)) return 'application/octet-stream'
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data)
    return 'text/plain;charset=utf-8'
  } catch {
    return 'application/octet-stream'
  }
}

export const plainDataUrl = (data: Uint8Array): string =>
  `data:${sniffMediaType(data)};base64,${Buffer.from(data).toString('base64')}`

async function tarGz(cwd: string, entries: string[]): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  const stream = tarCreate({ gzip: true, cwd, portable: true, noMtime: true }, entries)
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunks.push(chunk)
    size += chunk.length
    if (size > INLINE_MAX_BYTES) break
  }
  return Buffer.concat(chunks)
}

function tooLarge(p: string): CliError {
  return new CliError(`${p} is too large to embed in the job (the limit is 10 MB once compressed)`, {
    hint: 'publish the file somewhere the node can read (e.g. an http(s):// or s3:// URL) and pass that instead',
  })
}

/** Builds the data: URL for a local file or folder. */
export async function inlineDataUrl(p: string): Promise<InlineData> {
  let st: fs.Stats
  try {
    st = fs.statSync(p)
  } catch {
    throw new CliError(`${p}: no such file or directory`)
  }
  if (st.isFile() && st.size <= INLINE_PLAIN_LIMIT)
    return { url: plainDataUrl(fs.readFileSync(p)), archived: false }
  // Cheap early exit: even well-compressed data this large cannot fit.
  if (st.isFile() && st.size > 20 * INLINE_MAX_BYTES) throw tooLarge(p)
  let archive: Buffer
  if (st.isDirectory()) archive = await tarGz(p, fs.readdirSync(p))
  else if (st.isFile()) archive = await tarGz(path.dirname(path.resolve(p)), [path.basename(p)])
  else throw new CliError(`${p}: not a regular file or directory`)
  if (archive.length > INLINE_MAX_BYTES) throw tooLarge(p)
  return { url: `data:application/gzip;base64,${archive.toString('base64')}`, archived: true }
}
