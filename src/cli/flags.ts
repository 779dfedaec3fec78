// Parsers for the job flags (bacalhau-behaviour.md §1.4–§1.6): -i inputs, -p publisher,
// -o outputs, -e env, -l labels; numeric/duration option parsers for commander; and the
// cobra-style `--bool=false` spelling commander lacks.
import { InvalidArgumentError } from 'commander'
import { parseBool } from '../config/keys.js'
import { parseDuration } from '../config/types.js'
import type { InputSource, ResultPath, SpecConfig } from '../models/job.js'
import { CliError } from './errors.js'

/** Splits one CSV record (Go encoding/csv rules: commas, double-quoted fields). */
export function parseCsvRecord(text: string): string[] {
  const fields: string[] = []
  let i = 0
  for (;;) {
    let field = ''
    if (text[i] === '"') {
      i++
      for (;;) {
        if (i >= text.length) throw new Error(`unterminated quote in "${text}"`)
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"'
            i += 2
            continue
          }
          i++
          break
        }
        field += text[i++]
      }
      if (i < text.length && text[i] !== ',')
        throw new Error(`unexpected text after a quoted field in "${text}"`)
    } else {
      while (i < text.length && text[i] !== ',') field += text[i++]
    }
    fields.push(field)
    if (i >= text.length) break
    i++ // the comma
  }
  return fields
}

/** Splits repeated and comma-separated values (`-l a=1,b=2 -l c`) into single items. */
export function splitCommaValues(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => parseCsvRecord(v)).filter((v) => v !== '')
}

const schemePattern = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//

interface StorageFields {
  source: string
  target: string
  options: Record<string, string>
}

/** The shared CSV grammar of -i values and wasm module arguments. */
function parseStorageFields(value: string): StorageFields {
  let fields: string[]
  try {
    fields = parseCsvRecord(value)
  } catch (e) {
    throw new Error(`invalid input "${value}": ${(e as Error).message}`)
  }
  const out: StorageFields = { source: '', target: '', options: {} }
  fields.forEach((f, idx) => {
    const eq = f.indexOf('=')
    if (eq < 0) {
      if (idx !== 0) throw new Error(`invalid storage option "${f}" in input "${value}"`)
      // Simple form URI[:DST]: after the scheme, the last ':' splits off the target.
      const scheme = schemePattern.exec(f)?.[0] ?? ''
      const rest = f.slice(scheme.length)
      const colon = rest.lastIndexOf(':')
      if (colon >= 0) {
        out.source = scheme + rest.slice(0, colon)
        out.target = rest.slice(colon + 1)
      } else out.source = f
      return
    }
    const key = f.slice(0, eq).trim().toLowerCase()
    const val = f.slice(eq + 1)
    switch (key) {
      case 'src':
      case 'source':
        out.source = val
        break
      case 'dst':
      case 'target':
      case 'destination':
        out.target = val
        break
      case 'opt':
      case 'option': {
        const e2 = val.indexOf('=')
        if (e2 <= 0)
          throw new Error(`invalid storage option "${val}" in input "${value}": expected opt=key=value`)
        out.options[val.slice(0, e2)] = val.slice(e2 + 1)
        break
      }
      default:
        throw new Error(`unexpected key "${f.slice(0, eq)}" in input "${value}"`)
    }
  })
  return out
}

/** True when the text starts with a storage URI scheme the -i grammar knows. */
export function hasStorageScheme(value: string): boolean {
  const first = value.split(',')[0]
  const src = /^(src|source)=/i.test(first) ? first.replace(/^[^=]*=/, '') : first
  return schemePattern.test(src)
}

function storageSpec(source: string, options: Record<string, string>, original: string): SpecConfig {
  const m = schemePattern.exec(source)
  if (!m)
    throw new Error(
      `unknown storage schema in input "${original}" (use ipfs://, http(s)://, s3:// or file://)`,
    )
  const scheme = m[1].toLowerCase()
  const rest = source.slice(m[0].length)
  const noOptions = (type: string) => {
    const names = Object.keys(options)
    if (names.length)
      throw new Error(`input "${original}": ${type} inputs take no options (got ${names.join(', ')})`)
  }
  switch (scheme) {
    case 'ipfs': {
      noOptions('ipfs')
      const cid = rest.split('/')[0]
      if (!cid) throw new Error(`input "${original}": missing CID`)
      return { Type: 'ipfs', Params: { CID: cid } }
    }
    case 'http':
    case 'https': {
      noOptions('URL')
      try {
        new URL(source)
      } catch {
        throw new Error(`input "${original}": invalid URL "${source}"`)
      }
      return { Type: 'urlDownload', Params: { URL: source } }
    }
    case 's3': {
      const slash = rest.indexOf('/')
      const bucket = slash < 0 ? rest : rest.slice(0, slash)
      const key = slash < 0 ? '' : rest.slice(slash + 1)
      if (!bucket) throw new Error(`input "${original}": missing S3 bucket`)
      const params: Record<string, unknown> = { Bucket: bucket, Key: key }
      for (const [name, v] of Object.entries(options)) {
        switch (name) {
          case 'endpoint':
            params.Endpoint = v
            break
          case 'region':
            params.Region = v
            break
          case 'versionID':
          case 'version-id':
          case 'version_id':
            params.VersionID = v
            break
          case 'checksum-256':
          case 'checksum256':
          case 'checksum_256':
            params.ChecksumSHA256 = v
            break
          case 'filter':
            params.Filter = v
            break
          default:
            throw new Error(`input "${original}": unknown s3 option "${name}"`)
        }
      }
      return { Type: 's3', Params: params }
    }
    case 'file': {
      if (!rest) throw new Error(`input "${original}": missing path`)
      const params: Record<string, unknown> = { SourcePath: rest, ReadWrite: false }
      for (const [name, v] of Object.entries(options)) {
        if (!['rw', 'read-write', 'read_write', 'readwrite'].includes(name))
          throw new Error(`input "${original}": unknown local option "${name}"`)
        const b = parseBool(v)
        if (b === undefined)
          throw new Error(`input "${original}": option ${name} must be true or false, got "${v}"`)
        params.ReadWrite = b
      }
      return { Type: 'local', Params: params }
    }
    case 'git':
    case 'gitlfs':
      throw new Error(`input "${original}": unsupported type ${scheme}`)
    default:
      throw new Error(
        `unknown storage schema "${scheme}" in input "${original}" (use ipfs://, http(s)://, s3:// or file://)`,
      )
  }
}

/** Parses one -i/--input value into an InputSource (grammar: behaviour §1.5). */
export function parseInputSource(value: string, defaultTarget = '/inputs'): InputSource {
  if (!value.trim()) throw new Error('empty input')
  const f = parseStorageFields(value)
  if (!f.source) throw new Error(`input "${value}": missing source`)
  return {
    Source: storageSpec(f.source, f.options, value),
    Alias: f.source,
    Target: f.target || defaultTarget,
  }
}

/** Parses a -p/--publisher value (behaviour §1.6). */
export function parsePublisher(value: string): SpecConfig {
  let fields: string[]
  try {
    fields = parseCsvRecord(value)
  } catch (e) {
    throw new Error(`invalid publisher "${value}": ${(e as Error).message}`)
  }
  let dest = ''
  const opts: Record<string, string> = {}
  fields.forEach((f, idx) => {
    const eq = f.indexOf('=')
    if (eq < 0) {
      if (idx !== 0) throw new Error(`invalid publisher option "${f}" in "${value}"`)
      dest = f.trim()
      return
    }
    const key = f.slice(0, eq).trim().toLowerCase()
    const val = f.slice(eq + 1)
    if (key === 'target' || key === 'dst' || key === 'destination') dest = val.trim()
    else if (key === 'opt' || key === 'option') {
      const e2 = val.indexOf('=')
      if (e2 <= 0) throw new Error(`invalid publisher option "${val}" in "${value}": expected opt=key=value`)
      opts[val.slice(0, e2)] = val.slice(e2 + 1)
    } else throw new Error(`unexpected key "${f.slice(0, eq)}" in publisher "${value}"`)
  })
  if (!dest) throw new Error(`publisher "${value}": missing publisher type`)
  const scheme = schemePattern.exec(dest)
  const type = (scheme ? scheme[1] : dest).toLowerCase()
  const withOpts = (t: string, base: Record<string, unknown> = {}): SpecConfig => {
    const params = { ...base, ...opts }
    return Object.keys(params).length ? { Type: t, Params: params } : { Type: t }
  }
  switch (type) {
    case 'ipfs':
    case 'local':
    case 'noop':
    case 's3managed':
      return withOpts(type)
    case 's3': {
      const params: Record<string, unknown> = {}
      if (scheme) {
        const rest = dest.slice(scheme[0].length)
        const slash = rest.indexOf('/')
        params.Bucket = slash < 0 ? rest : rest.slice(0, slash)
        params.Key = slash < 0 ? '' : rest.slice(slash + 1)
      }
      for (const [k, v] of Object.entries(opts)) {
        if (k.toLowerCase() === 'bucket') params.Bucket = v
        else if (k.toLowerCase() === 'key') params.Key = v
        else params[k] = v
      }
      if (!params.Bucket) throw new Error(`publisher "${value}": missing S3 bucket (use s3://bucket/key)`)
      return { Type: 's3', Params: params }
    }
    default:
      throw new Error(`unknown publisher type "${dest}" (use ipfs, local, s3://bucket/key or s3managed)`)
  }
}

/** Parses a -o/--output value `NAME:PATH`. */
export function parseResultPath(value: string): ResultPath {
  const parts = value.split(':')
  if (parts.length !== 2 || !parts[0].trim() || !parts[1].trim())
    throw new Error(`invalid output "${value}": expected NAME:PATH (e.g. outputs:/outputs)`)
  return { Name: parts[0].trim(), Path: parts[1].trim() }
}

/** Parses -e/--env values (`KEY=VALUE`, repeatable, comma lists). */
export function parseEnvVars(values: string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {}
  for (const item of splitCommaValues(values)) {
    const eq = item.indexOf('=')
    if (eq <= 0) throw new Error(`invalid --env value "${item}": expected KEY=VALUE`)
    env[item.slice(0, eq).trim()] = item.slice(eq + 1)
  }
  return env
}

const labelName = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/')
  const prefix = slash >= 0 ? key.slice(0, slash) : ''
  const name = slash >= 0 ? key.slice(slash + 1) : key
  if (slash >= 0 && (!prefix || prefix.length > 253 || !dnsSubdomain.test(prefix)))
    return 'prefix must be a DNS subdomain'
  if (!name || name.length > 63 || !labelName.test(name))
    return 'name must be 1-63 characters of letters, digits, "-", "_" or ".", starting and ending with a letter or digit'
  return undefined
}

/** Parses -l/--labels (`k=v` or bare `k`), checking Kubernetes label syntax. */
export function parseLabels(values: string[] | undefined, flag = '--labels'): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const item of splitCommaValues(values)) {
    const eq = item.indexOf('=')
    const key = (eq < 0 ? item : item.slice(0, eq)).trim()
    const value = eq < 0 ? '' : item.slice(eq + 1).trim()
    const problem = labelKeyProblem(key)
    if (problem) throw new Error(`invalid ${flag} key "${key}": ${problem}`)
    if (value && (value.length > 63 || !labelName.test(value)))
      throw new Error(
        `invalid ${flag} value "${value}" for key "${key}": must be at most 63 characters of letters, digits, "-", "_" or ".", starting and ending with a letter or digit`,
      )
    labels[key] = value
  }
  return labels
}

/** Commander collector for repeatable options. */
export const collect = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
]

/** Commander parser for an integer option, with a message naming the expectation. */
export function intArg(opts: { min?: number; max?: number } = {}) {
  return (value: string): number => {
    const v = value.trim()
    if (!/^[+-]?\d+$/.test(v)) throw new InvalidArgumentError('expected an integer.')
    const n = Number(v)
    if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('integer out of range.')
    if (opts.min !== undefined && n < opts.min)
      throw new InvalidArgumentError(`must be at least ${opts.min}.`)
    if (opts.max !== undefined && n > opts.max) throw new InvalidArgumentError(`must be at most ${opts.max}.`)
    return n
  }
}

/** Commander parser for a Go duration (`30s`, `5m`); a bare number is seconds. Returns ms. */
export function durationArg(value: string): number {
  let ms: number
  try {
    ms = parseDuration(value)
  } catch {
    throw new InvalidArgumentError('expected a duration such as 30s, 5m or 1h.')
  }
  if (!(ms >= 0)) throw new InvalidArgumentError('must not be negative.')
  return ms
}

/**
 * Rewrites cobra's `--flag=true|false` for boolean flags into what commander
 * understands (`--flag`, `--no-flag`, or nothing when false is the default).
 */
export function normalizeBoolFlags(argv: string[], boolFlags: ReadonlySet<string>): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') {
      out.push(...argv.slice(i))
      break
    }
    const m = /^--([^=]+)=(.*)$/s.exec(a)
    if (m && boolFlags.has(m[1])) {
      const b = parseBool(m[2])
      if (b === undefined)
        throw new CliError(`invalid argument "${m[2]}" for "--${m[1]}" flag: expected true or false`)
      if (b) out.push(`--${m[1]}`)
      else if (boolFlags.has(`no-${m[1]}`)) out.push(`--no-${m[1]}`)
      continue
    }
    out.push(a)
  }
  return out
}
