// Bacalhau rejects clients older than v1.4.0 and unparseable client versions; these two
// answers are the only error bodies that are not APIError (reference §1.2.3).
import { GIT_VERSION } from '../models/version.js'

export const MIN_CLIENT_VERSION = '1.4.0'

interface SemVer {
  major: number
  minor: number
  patch: number
  pre: string[]
}

// Lenient like Masterminds/semver: optional "v", minor/patch may be omitted.
const semverPattern =
  /^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/

export function parseSemver(text: string): SemVer | undefined {
  const m = semverPattern.exec(text.trim())
  if (!m) return undefined
  return {
    major: Number(m[1]),
    minor: Number(m[2] ?? 0),
    patch: Number(m[3] ?? 0),
    pre: m[4] ? m[4].split('.') : [],
  }
}

function comparePre(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return Math.sign(b.length - a.length)
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const an = /^\d+$/.test(a[i])
    const bn = /^\d+$/.test(b[i])
    if (an && bn) {
      const d = Number(a[i]) - Number(b[i])
      if (d) return Math.sign(d)
    } else if (an !== bn) {
      return an ? -1 : 1
    } else if (a[i] !== b[i]) {
      return a[i] < b[i] ? -1 : 1
    }
  }
  return Math.sign(a.length - b.length)
}

export function compareSemver(a: SemVer, b: SemVer): number {
  return (
    Math.sign(a.major - b.major) ||
    Math.sign(a.minor - b.minor) ||
    Math.sign(a.patch - b.patch) ||
    comparePre(a.pre, b.pre)
  )
}

export interface VersionRejection {
  status: 400 | 403
  body: Record<string, string>
}

/** Returns the rejection for a client version header, or undefined when the request may proceed. */
export function checkClientVersion(header: string | undefined): VersionRejection | undefined {
  if (header === undefined || header.trim() === '') return undefined
  const v = parseSemver(header)
  if (!v) return { status: 400, body: { Error: `Invalid client version ${header}` } }
  // Development builds report v0.0.0[-commit]; Bacalhau lets them through.
  if (v.major === 0 && v.minor === 0 && v.patch === 0) return undefined
  if (compareSemver(v, parseSemver(MIN_CLIENT_VERSION)!) >= 0) return undefined
  return {
    status: 403,
    body: {
      Error: 'Client version is outdated. Update your client',
      MinVersion: MIN_CLIENT_VERSION,
      ClientVersion: header,
      ServerVersion: GIT_VERSION,
    },
  }
}
