// Bacalhau's opaque list token: unpadded base64url of "<SortBy>:<Y|N>:<Limit>:<Offset>".
import { BacalhauError } from '../models/errors.js'

export interface PageToken {
  sortBy: string
  reverse: boolean
  limit: number
  offset: number
}

export function encodePageToken(t: PageToken): string {
  return Buffer.from(`${t.sortBy}:${t.reverse ? 'Y' : 'N'}:${t.limit}:${t.offset}`).toString('base64url')
}

export function decodePageToken(token: string): PageToken {
  const text = Buffer.from(token, 'base64url').toString('utf8')
  const m = /^([a-z_]*):([YN]):(\d+):(\d+)$/.exec(text)
  if (!m || Number(m[4]) > 0xffffffff)
    throw new BacalhauError(`invalid next token: ${token}`, { code: 'BadRequest', component: 'APIServer' })
  return { sortBy: m[1], reverse: m[2] === 'Y', limit: Number(m[3]), offset: Number(m[4]) }
}
