// Engine params of a docker task (bacalhau-api.md §5.1), read case-insensitively.
import { paramValue } from '../../models/ci.js'
import type { SpecConfig } from '../../models/job.js'

export interface DockerParams {
  image: string
  entrypoint: string[]
  parameters: string[]
  /** EnvironmentVariables as given, `KEY=VALUE`. */
  environmentVariables: string[]
  workingDirectory: string
}

function stringList(params: Record<string, unknown> | undefined, key: string): string[] {
  const v = paramValue(params, key)
  if (v === undefined || v === null) return []
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new Error(`docker engine: ${key} must be a list of strings`)
  }
  return v
}

/** `KEY=VALUE` → [KEY, VALUE]; the value may itself contain `=`. */
export function splitEnvEntry(entry: string): [string, string] | undefined {
  const eq = entry.indexOf('=')
  if (eq <= 0) return undefined
  return [entry.slice(0, eq), entry.slice(eq + 1)]
}

/** Throws an Error whose message is the rejection reason when the params are unusable. */
export function parseDockerParams(engine: SpecConfig): DockerParams {
  const params = engine.Params ?? undefined
  const image = paramValue(params, 'Image')
  if (image !== undefined && image !== null && typeof image !== 'string') {
    throw new Error('docker engine: Image must be a string')
  }
  if (typeof image !== 'string' || image.trim() === '') throw new Error('Image cannot be empty')
  if (/\s/.test(image.trim())) throw new Error(`docker engine: invalid image reference '${image}'`)

  const wd = paramValue(params, 'WorkingDirectory')
  if (wd !== undefined && wd !== null && typeof wd !== 'string') {
    throw new Error('docker engine: WorkingDirectory must be a string')
  }
  const workingDirectory = typeof wd === 'string' ? wd : ''
  if (workingDirectory !== '' && !workingDirectory.startsWith('/')) {
    throw new Error(`docker engine: WorkingDirectory must be an absolute path, got '${workingDirectory}'`)
  }

  const environmentVariables = stringList(params, 'EnvironmentVariables')
  for (const entry of environmentVariables) {
    const kv = splitEnvEntry(entry)
    if (!kv) {
      throw new Error(`docker engine: EnvironmentVariables entry '${entry}' must have the form KEY=VALUE`)
    }
    if (kv[0].toUpperCase().startsWith('BACALHAU_')) {
      throw new Error(
        `docker engine: EnvironmentVariables entry '${kv[0]}' uses the reserved BACALHAU_ prefix`,
      )
    }
  }

  return {
    image: image.trim(),
    entrypoint: stringList(params, 'Entrypoint'),
    parameters: stringList(params, 'Parameters'),
    environmentVariables,
    workingDirectory,
  }
}
