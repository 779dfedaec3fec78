// Output helpers in Bacalhau's style: borderless tables with upper-case headers, CSV,
// JSON (exact int64 times) and YAML; short IDs; Go-like time and duration text.
import YAML from 'yaml'
import { stringifyJson, toNanos } from '../models/json.js'

export type OutputFormat = 'table' | 'csv' | 'json' | 'yaml'
export const listFormats: readonly OutputFormat[] = ['table', 'csv', 'json', 'yaml']

/** `j-1f2e3d4c-…` → `j-1f2e3d4c`; a bare UUID → its first 8 chars; anything else unchanged. */
export function shortId(id: string | undefined): string {
  if (!id) return ''
  let m = /^([A-Za-z]+)-([0-9a-fA-F]{8})-[0-9a-fA-F]{4}-/.exec(id)
  if (m) return `${m[1]}-${m[2]}`
  m = /^([0-9a-fA-F]{8})-[0-9a-fA-F]{4}-/.exec(id)
  if (m) return m[1]
  return id
}

export interface TableOptions {
  hideHeader?: boolean
  /** Bold headers (only when writing to a terminal and not --no-style). */
  style?: boolean
}

/**
 * A borderless table: every cell padded by one space each side, header upper-cased,
 * trailing blanks trimmed. Multi-line cells are spread over several lines.
 */
export function formatTable(columns: string[], rows: string[][], opts: TableOptions = {}): string {
  const header = columns.map((c) => c.toUpperCase())
  const split = rows.map((r) => columns.map((_, i) => String(r[i] ?? '').split('\n')))
  const widths = columns.map((_, i) =>
    Math.max(
      opts.hideHeader ? 0 : header[i].length,
      ...split.map((r) => Math.max(...r[i].map((l) => l.length))),
    ),
  )
  const line = (cells: string[], bold = false) =>
    cells
      .map((c, i) => {
        const padded = c.padEnd(widths[i])
        return ' ' + (bold ? `\x1b[1m${padded}\x1b[22m` : padded) + ' '
      })
      .join('')
      .trimEnd()
  const out: string[] = []
  if (!opts.hideHeader) out.push(line(header, opts.style))
  for (const r of split) {
    const height = Math.max(...r.map((c) => c.length))
    for (let j = 0; j < height; j++) out.push(line(r.map((c) => c[j] ?? '')))
  }
  return out.length ? out.join('\n') + '\n' : ''
}

const csvCell = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)

export function formatCsv(columns: string[], rows: string[][], hideHeader = false): string {
  const lines = rows.map((r) => columns.map((_, i) => csvCell(String(r[i] ?? ''))).join(','))
  if (!hideHeader) lines.unshift(columns.map((c) => csvCell(c.toUpperCase())).join(','))
  return lines.length ? lines.join('\n') + '\n' : ''
}

/** YAML text of any API value (bigint nanosecond times written as plain integers). */
export function toYaml(value: unknown): string {
  return YAML.stringify(value, { aliasDuplicateObjects: false, lineWidth: 0 })
}

export function toJson(value: unknown, pretty = false): string {
  return stringifyJson(value, pretty ? 2 : undefined) + '\n'
}

export interface ListOutputOptions {
  format: OutputFormat
  hideHeader?: boolean
  pretty?: boolean
  style?: boolean
}

/** One list in the chosen format: table/CSV from rows, JSON/YAML from the raw items. */
export function formatList(
  columns: string[],
  rows: string[][],
  items: unknown,
  o: ListOutputOptions,
): string {
  switch (o.format) {
    case 'csv':
      return formatCsv(columns, rows, o.hideHeader)
    case 'json':
      return toJson(items, o.pretty)
    case 'yaml':
      return toYaml(items)
    default:
      return formatTable(columns, rows, { hideHeader: o.hideHeader, style: o.style })
  }
}

/** A JSON/YAML document for describe-like commands. */
export function formatObject(value: unknown, format: 'json' | 'yaml', pretty = false): string {
  return format === 'json' ? toJson(value, pretty) : toYaml(value)
}

/** `Key = value` lines padded to the longest key; empty values are left out. */
export function formatKeyValues(pairs: [string, string | number | undefined][]): string {
  const kept = pairs.filter(([, v]) => v !== undefined && v !== '')
  const width = Math.max(0, ...kept.map(([k]) => k.length))
  return kept.map(([k, v]) => `${k.padEnd(width)} = ${v}`).join('\n') + (kept.length ? '\n' : '')
}

/** A Date from Unix nanoseconds (number, bigint or numeric string) or an RFC 3339 string. */
export function toDate(value: unknown): Date | undefined {
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value === 'string' && !/^-?\d+$/.test(value)) {
    const d = new Date(value)
    return Number.isNaN(d.getTime()) || d.getTime() <= 0 ? undefined : d
  }
  const ns = toNanos(value)
  if (ns <= 0n) return undefined
  return new Date(Number(ns / 1_000_000n))
}

const p2 = (n: number) => String(n).padStart(2, '0')

/** `15:04:05` in local time. */
export function formatTimeOfDay(d: Date | undefined): string {
  return d ? `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}` : ''
}

/** `15:04:05.000` in local time. */
export function formatClock(d: Date | undefined): string {
  return d ? `${formatTimeOfDay(d)}.${String(d.getMilliseconds()).padStart(3, '0')}` : ''
}

/** `2006-01-02 15:04:05` in local time. */
export function formatDateTime(d: Date | undefined): string {
  return d ? `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${formatTimeOfDay(d)}` : ''
}

/** Go's time.Duration.String() for a duration rounded to whole seconds ("1h2m3s", "0s"). */
export function formatGoDuration(ms: number): string {
  let s = Math.round(ms / 1000)
  const neg = s < 0
  s = Math.abs(s)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s % 60
  const text = h ? `${h}h${m}m${sec}s` : m ? `${m}m${sec}s` : `${sec}s`
  return neg ? `-${text}` : text
}

/** `2m5s ago`. */
export function formatElapsed(d: Date | undefined, now = Date.now()): string {
  return d ? `${formatGoDuration(now - d.getTime())} ago` : ''
}
