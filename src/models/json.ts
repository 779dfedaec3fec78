// JSON that keeps integers beyond 2^53 exact. Bacalhau's CreateTime/ModifyTime are int64
// nanoseconds (~1.7e18); we hold them as bigint and emit them as bare JSON numbers.

const BIGINT_MARK = '\u0000bigint:'
const bigNumberOrString = /"(?:[^"\\]|\\.)*"|-?\d{16,}(?![.\deE])/g

/** Parses JSON; integers with 16+ digits that do not fit a double exactly become bigint. */
export function parseJson(text: string): unknown {
  if (!/\d{16,}/.test(text)) return JSON.parse(text)
  // The marker goes into JSON text, so its NUL must be written as an escape.
  const marked = text.replace(bigNumberOrString, (tok) => (tok[0] === '"' ? tok : `"\\u0000bigint:${tok}"`))
  return JSON.parse(marked, (_key, value) => {
    if (typeof value === 'string' && value.startsWith(BIGINT_MARK)) {
      const big = BigInt(value.slice(BIGINT_MARK.length))
      return Number.isSafeInteger(Number(big)) ? Number(big) : big
    }
    return value
  })
}

// JSON.stringify writes the marker's NUL as the six characters \u0000.
const bigintToken = /"\\u0000bigint:(-?\d+)"/g

/** Serialises JSON, writing bigint values as plain numbers. */
export function stringifyJson(value: unknown, indent?: number): string {
  let sawBigint = false
  const text = JSON.stringify(
    value,
    (_key, v) => {
      if (typeof v === 'bigint') {
        sawBigint = true
        return `${BIGINT_MARK}${v.toString()}`
      }
      return v
    },
    indent,
  )
  return sawBigint ? text.replace(bigintToken, '$1') : text
}

/** Current wall-clock time in Unix nanoseconds. */
export function nowNanos(): bigint {
  // timeOrigin + now() is wall-clock time with sub-millisecond resolution that never
  // runs backwards within the process.
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n
}

/** Converts Unix nanoseconds to an RFC 3339 string with nanosecond precision. */
export function nanosToRfc3339(ns: bigint): string {
  const ms = Number(ns / 1_000_000n)
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0')
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`)
}

export function toNanos(value: unknown): bigint {
  if (typeof value === 'bigint') return value
  if (typeof value === 'number' && Number.isFinite(value)) return BigInt(Math.trunc(value))
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value)
  return 0n
}
