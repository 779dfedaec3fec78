// Builds the effective Config from defaults, YAML files, BACALHAU_* env vars, dedicated
// CLI flags and `-c Key=value` pairs, in that order (bacalhau-behaviour.md §2.1).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import YAML, { isMap, isScalar, type Document } from 'yaml'
import { defaultConfig, type Config } from './types.js'
import {
  coerceFileValue,
  configKeys,
  envNameFor,
  findConfigKey,
  isConfigSection,
  isUnsupportedBacalhauKey,
  parseConfigValue,
  readPath,
  unknownKeyError,
  writePath,
  type ConfigKey,
} from './keys.js'

export interface ConfigFlagValues {
  dataDir?: string
  apiHost?: string
  apiPort?: number
  orchestrator?: boolean
  compute?: boolean
  logLevel?: string
}

export interface LoadConfigOptions {
  /** Values of the repeatable `-c/--config` flag, in order. */
  configFlags?: string[]
  /** Dedicated flags that the user actually set. */
  flags?: ConfigFlagValues
  env?: NodeJS.ProcessEnv
  /** Base for relative paths (default: process.cwd()). */
  cwd?: string
  /** What `~` expands to (default: os.homedir()). */
  homeDir?: string
}

export interface LoadedConfig {
  config: Config
  /** Config files that were read, in order. */
  configFiles: string[]
  /** Non-fatal notes, e.g. Bacalhau keys in a file that this node ignores. */
  warnings: string[]
}

type ConfigFlag =
  { kind: 'file'; path: string } | { kind: 'pair'; key: ConfigKey; value: unknown; given: string }

const keyLike = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/

function lookupExplicitKey(name: string): ConfigKey {
  const k = findConfigKey(name)
  if (!k) throw unknownKeyError(name)
  return k
}

/** Classifies one `-c` value: a YAML file, `Key=value`, or a bare bool key. */
function parseConfigFlag(raw: string, cwd: string, home: string): ConfigFlag {
  const eq = raw.indexOf('=')
  if (eq > 0 && keyLike.test(raw.slice(0, eq).trim())) {
    const name = raw.slice(0, eq).trim()
    const k = lookupExplicitKey(name)
    return { kind: 'pair', key: k, value: parseConfigValue(k, raw.slice(eq + 1)), given: name }
  }
  if (/\.ya?ml$/i.test(raw)) {
    const p = path.resolve(cwd, expandHome(raw, home))
    if (!fs.existsSync(p)) throw new Error(`config file ${raw} not found`)
    return { kind: 'file', path: p }
  }
  if (!keyLike.test(raw.trim()))
    throw new Error(`invalid --config value "${raw}": expected a .yaml file, Key=value or a boolean key`)
  const k = lookupExplicitKey(raw.trim())
  if (k.type !== 'bool')
    throw new Error(`config key ${k.key}: a bare key only sets boolean keys; use -c ${k.key}=<value>`)
  return { kind: 'pair', key: k, value: true, given: raw.trim() }
}

function expandHome(p: string, home: string): string {
  if (p === '~') return home
  if (p.startsWith('~/') || p.startsWith('~' + path.sep)) return path.join(home, p.slice(2))
  return p
}

/** Makes DataDir absolute; rejects `$` since nothing expands variables in it. */
export function expandDataDir(raw: string, cwd = process.cwd(), home = os.homedir()): string {
  if (!raw.trim()) throw new Error('config key DataDir: must not be empty')
  if (raw.includes('$'))
    throw new Error(
      `config key DataDir: "${raw}" must not contain '$' (environment variables are not expanded)`,
    )
  return path.resolve(cwd, expandHome(raw.trim(), home))
}

interface FileValues {
  file: string
  values: { key: ConfigKey; value: unknown }[]
}

/** One line for a YAML parse error: the problem and where it is. */
export function yamlProblem(err: { message: string; linePos?: { line: number; col: number }[] }): string {
  const msg = err.message.split('\n')[0].replace(/:$/, '')
  const at = err.linePos?.[0]
  return at && !/ at line \d+/.test(msg) ? `${msg} at line ${at.line}, column ${at.col}` : msg
}

/** Reads one YAML config file into typed leaf values, matching keys case-insensitively. */
function readConfigFile(file: string, warnings: string[]): FileValues {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (e) {
    throw new Error(`config file ${file}: ${(e as Error).message}`)
  }
  const doc = YAML.parseDocument(text)
  if (doc.errors.length > 0)
    throw new Error(`config file ${file}: invalid YAML: ${yamlProblem(doc.errors[0])}`)
  const data: unknown = doc.toJS()
  const out: FileValues = { file, values: [] }
  if (data === null || data === undefined) return out
  if (typeof data !== 'object' || Array.isArray(data))
    throw new Error(`config file ${file}: expected a map of config keys at the top level`)
  const walk = (obj: Record<string, unknown>, prefix: string) => {
    for (const [name, value] of Object.entries(obj)) {
      const p = prefix ? `${prefix}.${name}` : name
      const leaf = findConfigKey(p)
      if (leaf) {
        if (value === null || value === undefined) continue
        try {
          out.values.push({ key: leaf, value: coerceFileValue(leaf, value) })
        } catch (e) {
          throw new Error(`config file ${file}: ${(e as Error).message}`)
        }
      } else if (isConfigSection(p)) {
        if (value === null || value === undefined) continue
        if (typeof value !== 'object' || Array.isArray(value))
          throw new Error(`config file ${file}: ${p} must be a map of keys`)
        walk(value as Record<string, unknown>, p)
      } else if (isUnsupportedBacalhauKey(p)) {
        warnings.push(`config file ${file}: ignoring ${p}, a Bacalhau key this node does not support`)
      } else {
        throw new Error(`config file ${file}: unknown config key "${p}"`)
      }
    }
  }
  walk(data as Record<string, unknown>, '')
  return out
}

function setLeaf(config: Config, key: ConfigKey, value: unknown): void {
  writePath(config as unknown as Record<string, unknown>, key.key, value)
}

const dedicatedFlags: { flag: keyof ConfigFlagValues; name: string; key: string }[] = [
  { flag: 'dataDir', name: '--data-dir', key: 'DataDir' },
  { flag: 'apiHost', name: '--api-host', key: 'API.Host' },
  { flag: 'apiPort', name: '--api-port', key: 'API.Port' },
  { flag: 'orchestrator', name: '--orchestrator', key: 'Orchestrator.Enabled' },
  { flag: 'compute', name: '--compute', key: 'Compute.Enabled' },
  { flag: 'logLevel', name: '--log-level', key: 'Logging.Level' },
]

function envValues(env: NodeJS.ProcessEnv): { key: ConfigKey; value: unknown }[] {
  const out: { key: ConfigKey; value: unknown }[] = []
  const add = (k: ConfigKey, name: string) => {
    const raw = env[name]
    // Like viper, an empty variable counts as unset.
    if (raw === undefined || raw === '') return
    try {
      out.push({ key: k, value: parseConfigValue(k, raw) })
    } catch (e) {
      throw new Error(`${(e as Error).message} (from environment variable ${name})`)
    }
  }
  for (const k of configKeys) {
    // The generic names first, so the aliases below (more specific by intent) win.
    if (k.key === 'Logging.Level') add(k, 'LOG_LEVEL')
    add(k, envNameFor(k.key))
    if (k.key === 'DataDir') add(k, 'BACALHAU_DIR')
  }
  return out
}

/** Loads the effective configuration. Throws an Error naming the source, key and problem. */
export function loadConfig(opts: LoadConfigOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env
  const cwd = opts.cwd ?? process.cwd()
  const home = opts.homeDir ?? os.homedir()
  const flags = opts.flags ?? {}
  const warnings: string[] = []

  const parsedFlags = (opts.configFlags ?? []).map((raw) => parseConfigFlag(raw, cwd, home))
  const explicitFiles = parsedFlags.filter((f) => f.kind === 'file').map((f) => f.path)
  const pairs = parsedFlags.filter((f): f is Extract<ConfigFlag, { kind: 'pair' }> => f.kind === 'pair')

  for (const d of dedicatedFlags) {
    if (flags[d.flag] === undefined) continue
    const clash = pairs.find((p) => p.key.key === d.key)
    if (clash) throw new Error(`flag: ${d.name} and config flag key "${clash.given}" cannot both be provided`)
  }

  const fileValues = explicitFiles.map((f) => readConfigFile(f, warnings))
  const fromEnv = envValues(env)
  const flagValues: { key: ConfigKey; value: unknown }[] = []
  for (const d of dedicatedFlags) {
    const v = flags[d.flag]
    if (v === undefined) continue
    const k = findConfigKey(d.key)!
    try {
      flagValues.push({
        key: k,
        value: typeof v === 'string' ? parseConfigValue(k, v) : coerceFileValue(k, v),
      })
    } catch (e) {
      throw new Error(`${d.name}: ${(e as Error).message}`)
    }
  }

  // DataDir decides where the default config file lives, so resolve it from every
  // other source first.
  const lastDataDir = (vals: { key: ConfigKey; value: unknown }[]) =>
    vals.filter((v) => v.key.key === 'DataDir').at(-1)?.value as string | undefined
  const preliminaryDataDir =
    lastDataDir(pairs) ??
    lastDataDir(flagValues) ??
    lastDataDir(fromEnv) ??
    lastDataDir(fileValues.flatMap((f) => f.values)) ??
    path.join(home, '.bacalhau')
  const dataDir = expandDataDir(preliminaryDataDir, cwd, home)

  const configFiles = [...explicitFiles]
  if (explicitFiles.length === 0) {
    const candidate = path.join(dataDir, 'config.yaml')
    if (fs.existsSync(candidate)) {
      fileValues.push(readConfigFile(candidate, warnings))
      configFiles.push(candidate)
    }
  }

  const config = defaultConfig()
  config.DataDir = path.join(home, '.bacalhau')
  for (const f of fileValues) for (const v of f.values) setLeaf(config, v.key, v.value)
  for (const v of fromEnv) setLeaf(config, v.key, v.value)
  for (const v of flagValues) setLeaf(config, v.key, v.value)
  for (const p of pairs) setLeaf(config, p.key, p.value)
  config.DataDir = expandDataDir(config.DataDir, cwd, home)
  return { config, configFiles, warnings }
}

/** Reads one key (case-insensitive) from a config. */
export function getConfigValue(config: Config, key: string): unknown {
  const k = findConfigKey(key)
  if (!k) throw unknownKeyError(key)
  return readPath(config, k.key)
}

/** Finds the spelling a YAML map already uses for a key, case-insensitively. */
function existingPath(doc: Document, parts: string[]): string[] {
  const out: string[] = []
  let node: unknown = doc.contents
  for (const part of parts) {
    let found: string | undefined
    if (isMap(node)) {
      for (const item of node.items) {
        const k = isScalar(item.key) ? String(item.key.value) : String(item.key)
        if (k.toLowerCase() === part.toLowerCase()) {
          found = k
          node = item.value
          break
        }
      }
    }
    if (found === undefined) {
      node = undefined
      out.push(part)
    } else out.push(found)
  }
  return out
}

/**
 * Validates and writes `key: value` into a YAML config file (created, with its folder,
 * when missing). Existing content and comments are kept; an existing differently-cased
 * spelling of the key is reused.
 */
export function setConfigValue(file: string, key: string, value: string): { key: string; value: unknown } {
  const k = findConfigKey(key)
  if (!k) throw unknownKeyError(key)
  let parsed = parseConfigValue(k, value)
  if (k.key === 'DataDir') parsed = expandDataDir(String(parsed))
  let doc: Document
  if (fs.existsSync(file)) {
    doc = YAML.parseDocument(fs.readFileSync(file, 'utf8'))
    if (doc.errors.length > 0)
      throw new Error(`config file ${file}: invalid YAML: ${yamlProblem(doc.errors[0])}`)
    if (doc.contents !== null && !isMap(doc.contents))
      throw new Error(`config file ${file}: expected a map of config keys at the top level`)
  } else {
    doc = new YAML.Document({})
  }
  if (doc.contents === null) doc = new YAML.Document({})
  const parts = existingPath(doc, k.key.split('.'))
  // A section written as a scalar (e.g. `API:` with no value) cannot hold the key.
  for (let i = 1; i < parts.length; i++) {
    const section = doc.getIn(parts.slice(0, i), true)
    if (section !== undefined && !isMap(section)) doc.deleteIn(parts.slice(0, i))
  }
  doc.setIn(parts, parsed)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, String(doc))
  return { key: k.key, value: parsed }
}
