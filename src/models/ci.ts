// Go's encoding/json matches object keys case-insensitively and ignores unknown keys.
// `ciObject` gives a zod object the same reading rules: input keys are mapped onto the
// schema's canonical spelling before validation, and unknown keys are stripped.
import { z } from 'zod'

function canonicalKeys(value: unknown, keys: Map<string, string>): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const canonical = keys.get(k.toLowerCase())
    if (canonical === undefined) continue
    // An exact-case key wins over a differently cased duplicate.
    if (canonical in out && k !== canonical) continue
    out[canonical] = v
  }
  return out
}

export function ciObject<T extends z.ZodRawShape>(shape: T) {
  const keys = new Map(Object.keys(shape).map((k) => [k.toLowerCase(), k]))
  return z.preprocess((v) => canonicalKeys(v, keys), z.object(shape))
}

/** A field Go would accept as absent or null. */
export const nullish = <S extends z.ZodType>(s: S) =>
  z.preprocess((v) => (v === null ? undefined : v), s.optional())

export const stringMap = z.record(z.string(), z.string())

/** Reads a key of a free-form params object case-insensitively (mapstructure semantics). */
export function paramValue(params: Record<string, unknown> | undefined, name: string): unknown {
  if (!params) return undefined
  if (name in params) return params[name]
  const lower = name.toLowerCase()
  for (const [k, v] of Object.entries(params)) if (k.toLowerCase() === lower) return v
  return undefined
}

/** Formats zod issues as "field.path: problem" lines. */
export function formatZodError(err: z.ZodError, root = ''): string {
  return err.issues
    .map((i) => {
      const path = [root, ...i.path.map(String)].filter(Boolean).join('.')
      return path ? `${path}: ${i.message}` : i.message
    })
    .join('\n')
}
