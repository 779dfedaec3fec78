// The subset of Go text/template that job files use: `{{.name}}` references (with the
// `{{-`/`-}}` trim markers and `{{/* comments */}}`), missing keys being an error as with
// Go's missingkey=error. Other actions are rejected rather than passed through.

function position(text: string, index: number): string {
  const before = text.slice(0, index)
  const line = before.split('\n').length
  const col = index - before.lastIndexOf('\n')
  return `${line}:${col}`
}

/** Expands `{{.key}}` references from `vars`; throws on a missing key or unsupported action. */
export function renderTemplate(text: string, vars: Record<string, string>, name = 'job'): string {
  let out = ''
  let i = 0
  while (i < text.length) {
    const open = text.indexOf('{{', i)
    if (open < 0) {
      out += text.slice(i)
      break
    }
    const close = text.indexOf('}}', open + 2)
    if (close < 0) throw new Error(`template: ${name}:${position(text, open)}: unclosed action`)
    let inner = text.slice(open + 2, close)
    let chunk = text.slice(i, open)
    let next = close + 2
    if (inner.startsWith('- ') || inner === '-') {
      chunk = chunk.replace(/\s+$/, '')
      inner = inner.slice(1)
    }
    if (inner.endsWith(' -')) {
      inner = inner.slice(0, -1)
      while (next < text.length && /\s/.test(text[next])) next++
    }
    out += chunk
    const action = inner.trim()
    if (action.startsWith('/*') && action.endsWith('*/')) {
      i = next
      continue
    }
    const m = /^\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(action)
    if (!m)
      throw new Error(
        `template: ${name}:${position(text, open)}: unsupported action "{{${inner}}}" (only {{.name}} references are supported; use --no-template to submit the file as is)`,
      )
    const key = m[1]
    if (!Object.prototype.hasOwnProperty.call(vars, key))
      throw Object.assign(
        new Error(
          `template: ${name}:${position(text, open)}: executing "${name}" at <.${key}>: map has no entry for key "${key}"`,
        ),
        { hint: `set it with -V ${key}=<value>, or pass it through the environment with -E` },
      )
    out += vars[key]
    i = next
  }
  return out
}

/**
 * The variables for a job template: environment variables whose names match any -E
 * pattern (`*` = all), then -V `key=value` pairs, which win.
 */
export function templateVars(
  pairs: string[] | undefined,
  envPatterns: string[] | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const vars: Record<string, string> = {}
  for (const pattern of envPatterns ?? []) {
    let test: (name: string) => boolean
    if (pattern === '*' || pattern === '.*') test = () => true
    else {
      let re: RegExp
      try {
        re = new RegExp(pattern)
      } catch (e) {
        throw new Error(`invalid --template-envs pattern "${pattern}": ${(e as Error).message}`)
      }
      test = (n) => re.test(n)
    }
    for (const [k, v] of Object.entries(env)) if (v !== undefined && test(k)) vars[k] = v
  }
  for (const pair of pairs ?? []) {
    for (const item of pair.split(',')) {
      const eq = item.indexOf('=')
      if (eq <= 0) throw new Error(`invalid --template-vars value "${item}": expected key=value`)
      vars[item.slice(0, eq).trim()] = item.slice(eq + 1)
    }
  }
  return vars
}
