// Label selectors: job Constraints matched against node labels, and the Kubernetes
// selector syntax used by `labels=` query parameters and `--constraints`.
import type { LabelSelectorRequirement } from './job.js'

const operators = new Set(['in', 'notin', 'exists', '!', '=', '==', '!=', 'gt', 'lt'])

export function constraintErrors(c: LabelSelectorRequirement, index: number): string[] {
  const errs: string[] = []
  const values = c.Values ?? []
  const op = c.Operator
  if (!c.Key.trim()) errs.push('selector key cannot be blank')
  if ((op === 'in' || op === 'notin') && values.length === 0)
    errs.push('selector values cannot be empty for In or NotIn operators')
  else if ((op === 'exists' || op === '!') && values.length > 0)
    errs.push('selector values must be empty for Exists or KeyNotInImap operators')
  else if (op !== 'in' && op !== 'notin' && op !== 'exists' && op !== '!' && values.length !== 1)
    errs.push('selector values must have exactly one value for other operators')
  return errs.map((e) => `constraint ${index} validation failed: ${e}`)
}

/** Does one requirement hold for these labels? Unknown operators never match. */
export function requirementMatches(req: LabelSelectorRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.Key)
  const value = has ? labels[req.Key] : undefined
  const values = req.Values ?? []
  switch (req.Operator.toLowerCase()) {
    case 'in':
    case '=':
    case '==':
      return has && values.includes(value!)
    case 'notin':
    case '!=':
      return !has || !values.includes(value!)
    case 'exists':
      return has
    case '!':
      return !has
    case 'gt':
    case 'lt': {
      if (!has) return false
      const a = Number(value)
      const b = Number(values[0])
      if (!Number.isFinite(a) || !Number.isFinite(b)) return false
      return req.Operator.toLowerCase() === 'gt' ? a > b : a < b
    }
    default:
      return false
  }
}

export const selectorMatches = (reqs: LabelSelectorRequirement[], labels: Record<string, string>) =>
  reqs.every((r) => requirementMatches(r, labels))

/**
 * Parses Kubernetes selector text ("env=prod,tier in (a,b),!gpu,zone") into
 * requirements. Throws with a message naming the bad term.
 */
export function parseSelector(text: string): LabelSelectorRequirement[] {
  const terms: string[] = []
  let depth = 0
  let cur = ''
  for (const ch of text) {
    if (ch === '(') depth++
    if (ch === ')') depth--
    if (ch === ',' && depth === 0) {
      terms.push(cur)
      cur = ''
    } else cur += ch
  }
  if (cur.trim() || terms.length) terms.push(cur)
  const out: LabelSelectorRequirement[] = []
  for (const raw of terms) {
    const t = raw.trim()
    if (!t) continue
    let m: RegExpExecArray | null
    if ((m = /^([^\s!=<>(),]+)\s+(in|notin)\s*\(([^)]*)\)$/i.exec(t))) {
      const values = m[3]
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean)
      out.push({ Key: m[1], Operator: m[2].toLowerCase(), Values: values })
    } else if ((m = /^([^\s!=<>(),]+)\s*(==|!=|=|>|<)\s*([^\s!=<>(),]*)$/.exec(t))) {
      const op = m[2] === '>' ? 'gt' : m[2] === '<' ? 'lt' : m[2]
      out.push({ Key: m[1], Operator: op, Values: [m[3]] })
    } else if ((m = /^!\s*([^\s!=<>(),]+)$/.exec(t))) {
      out.push({ Key: m[1], Operator: '!', Values: [] })
    } else if ((m = /^([^\s!=<>(),]+)$/.exec(t))) {
      out.push({ Key: m[1], Operator: 'exists', Values: [] })
    } else {
      throw new Error(`invalid label selector term: '${t}'`)
    }
  }
  for (const r of out)
    if (!operators.has(r.Operator)) throw new Error(`invalid label selector operator: ${r.Operator}`)
  return out
}
