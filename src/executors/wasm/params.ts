// Engine params of a WASM task (bacalhau-api.md §5.2), read case-insensitively.
import { paramValue } from '../../models/ci.js'
import type { SpecConfig } from '../../models/job.js'

export interface WasmParams {
  entryModule: string
  entrypoint: string
  parameters: string[]
  importModules: string[]
}

function stringList(params: Record<string, unknown> | undefined, key: string): string[] {
  const v = paramValue(params, key)
  if (v === undefined || v === null) return []
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new Error(`wasm engine: ${key} must be a list of strings`)
  }
  return v
}

/** Throws an Error naming the offending key when the params are unusable. */
export function parseWasmParams(engine: SpecConfig): WasmParams {
  const params = engine.Params ?? undefined
  const entry = paramValue(params, 'EntryModule')
  if (entry !== null && typeof entry === 'object') {
    throw new Error(
      'wasm engine: EntryModule must be a path in the task filesystem (the legacy InputSource form is converted on submit)',
    )
  }
  if (typeof entry !== 'string' || entry.trim() === '') {
    throw new Error('wasm engine: EntryModule is required (a path in the task filesystem)')
  }
  const ep = paramValue(params, 'Entrypoint')
  if (ep !== undefined && ep !== null && typeof ep !== 'string')
    throw new Error('wasm engine: Entrypoint must be a string')
  return {
    entryModule: entry,
    entrypoint: typeof ep === 'string' && ep !== '' ? ep : '_start',
    parameters: stringList(params, 'Parameters'),
    importModules: stringList(params, 'ImportModules'),
  }
}
