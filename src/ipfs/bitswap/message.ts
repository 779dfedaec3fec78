// Bitswap 1.2.0 messages (the protobuf `Message` of /ipfs/bitswap/1.2.0), encoded and
// decoded by hand. Blocks are the bulk of the traffic: an outgoing block is framed as a
// small header followed by the block's own bytes (never copied into a message buffer), and
// an incoming block is a view into the received message.
//
//   Message { Wantlist wantlist = 1; repeated bytes blocks = 2; repeated Block payload = 3;
//             repeated BlockPresence blockPresences = 4; int32 pendingBytes = 5 }
//   Wantlist { repeated Entry entries = 1; bool full = 2 }
//   Entry { bytes block = 1; int32 priority = 2; bool cancel = 3; WantType wantType = 4;
//           bool sendDontHave = 5 }                       WantType { Block = 0; Have = 1 }
//   Block { bytes prefix = 1; bytes data = 2 }
//   BlockPresence { bytes cid = 1; BlockPresenceType type = 2 }   { Have = 0; DontHave = 1 }
import { Uint8ArrayList } from 'uint8arraylist'
import { concat } from 'uint8arrays/concat'

export const BITSWAP_PROTOCOL = '/ipfs/bitswap/1.2.0'

export enum WantType {
  Block = 0,
  Have = 1,
}
export enum PresenceType {
  Have = 0,
  DontHave = 1,
}

export interface WantEntry {
  /** CID bytes. */
  cid: Uint8Array
  priority: number
  cancel: boolean
  wantType: WantType
  sendDontHave: boolean
}
/** A want-block entry asking to be told DONT_HAVE: what this node sends for every want. */
export function wantBlockEntry(cid: Uint8Array): WantEntry {
  return { cid, priority: 1, cancel: false, wantType: WantType.Block, sendDontHave: true }
}

export interface BlockPayload {
  /** CID prefix: varints of version, codec, multihash code, digest length. */
  prefix: Uint8Array
  data: Uint8Array
}
export interface Presence {
  cid: Uint8Array
  type: PresenceType
}
export interface BitswapMessage {
  wantlist?: { entries: WantEntry[]; full: boolean }
  /** Bitswap 1.0.0 blocks (CIDv0, dag-pb, sha2-256): data only. */
  rawBlocks: Uint8Array[]
  blocks: BlockPayload[]
  presences: Presence[]
  pendingBytes: number
}

export class BitswapMessageError extends Error {
  override name = 'BitswapMessageError'
}

// ---- varints ----

export function varintLength(n: number): number {
  let len = 1
  while (n >= 0x80) {
    n = Math.floor(n / 128)
    len++
  }
  return len
}

function writeVarint(buf: Uint8Array, offset: number, n: number): number {
  while (n >= 0x80) {
    buf[offset++] = (n & 0x7f) | 0x80
    n = Math.floor(n / 128)
  }
  buf[offset++] = n
  return offset
}

/** A field tag, followed by a length for length-delimited fields. */
function fieldHeader(field: number, wire: number, len?: number): Uint8Array {
  const tag = field * 8 + wire
  const buf = new Uint8Array(varintLength(tag) + (len === undefined ? 0 : varintLength(len)))
  const o = writeVarint(buf, 0, tag)
  if (len !== undefined) writeVarint(buf, o, len)
  return buf
}

function varintField(field: number, value: number): Uint8Array {
  const tag = field * 8
  const buf = new Uint8Array(varintLength(tag) + varintLength(value))
  writeVarint(buf, writeVarint(buf, 0, tag), value)
  return buf
}

function lengthDelimited(field: number, body: Uint8Array): Uint8Array {
  return concat([fieldHeader(field, 2, body.byteLength), body])
}

// ---- encoding ----

function encodeEntry(e: WantEntry): Uint8Array {
  const parts: Uint8Array[] = [lengthDelimited(1, e.cid)]
  if (e.priority > 0) parts.push(varintField(2, e.priority))
  if (e.cancel) parts.push(varintField(3, 1))
  if (e.wantType !== WantType.Block) parts.push(varintField(4, e.wantType))
  if (e.sendDontHave) parts.push(varintField(5, 1))
  return concat(parts)
}

/** A message with wants and/or presences (small), length-prefixed for the wire. */
export function encodeControlMessage(msg: {
  wantlist?: { entries: WantEntry[]; full: boolean }
  presences?: Presence[]
}): Uint8Array {
  const parts: Uint8Array[] = []
  if (msg.wantlist) {
    const wl: Uint8Array[] = msg.wantlist.entries.map((e) => lengthDelimited(1, encodeEntry(e)))
    if (msg.wantlist.full) wl.push(varintField(2, 1))
    parts.push(lengthDelimited(1, concat(wl)))
  }
  for (const p of msg.presences ?? []) {
    const body = [lengthDelimited(1, p.cid)]
    if (p.type !== PresenceType.Have) body.push(varintField(2, p.type))
    parts.push(lengthDelimited(4, concat(body)))
  }
  const body = concat(parts)
  const prefix = new Uint8Array(varintLength(body.byteLength))
  writeVarint(prefix, 0, body.byteLength)
  return concat([prefix, body])
}

/**
 * A message carrying one block, length-prefixed for the wire, as a list whose last part is
 * the block itself: the block's bytes go to the connection without being copied here.
 */
export function encodeBlockMessage(prefix: Uint8Array, data: Uint8Array): Uint8ArrayList {
  const prefixField = lengthDelimited(1, prefix)
  const dataHeader = fieldHeader(2, 2, data.byteLength)
  const blockLen = prefixField.byteLength + dataHeader.byteLength + data.byteLength
  const payloadHeader = fieldHeader(3, 2, blockLen)
  const msgLen = payloadHeader.byteLength + blockLen
  const lp = new Uint8Array(varintLength(msgLen))
  writeVarint(lp, 0, msgLen)
  return new Uint8ArrayList(concat([lp, payloadHeader, prefixField, dataHeader]), data)
}

/** The CID prefix a block is sent with: varints of version, codec, hash code, digest length. */
export function encodeCidPrefix(cid: {
  version: number
  code: number
  multihash: { code: number; size: number }
}): Uint8Array {
  const parts = [cid.version, cid.code, cid.multihash.code, cid.multihash.size]
  const out = new Uint8Array(parts.reduce((n, v) => n + varintLength(v), 0))
  let o = 0
  for (const v of parts) o = writeVarint(out, o, v)
  return out
}

// ---- decoding ----

class Reader {
  pos: number
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.byteLength,
  ) {
    this.pos = start
  }
  done(): boolean {
    return this.pos >= this.end
  }
  varint(): number {
    let value = 0
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new BitswapMessageError('truncated varint')
      const b = this.buf[this.pos++]!
      // Only the low 53 bits are kept: larger values (negative int32 priorities) are
      // clamped rather than misread as small ones.
      if (i < 8) value += (b & 0x7f) * 2 ** (7 * i)
      else if (b & 0x7f) value = Number.MAX_SAFE_INTEGER
      if ((b & 0x80) === 0) return value
    }
    throw new BitswapMessageError('varint longer than 10 bytes')
  }
  bytes(): Uint8Array {
    const len = this.varint()
    if (len > this.end - this.pos)
      throw new BitswapMessageError(`field of ${len} bytes runs past the message end`)
    const out = this.buf.subarray(this.pos, this.pos + len)
    this.pos += len
    return out
  }
  /** A reader over a length-delimited field. */
  sub(): Reader {
    return new Reader(this.bytes())
  }
  skip(wire: number): void {
    if (wire === 0) this.varint()
    else if (wire === 2) this.bytes()
    else if (wire === 1) this.advance(8)
    else if (wire === 5) this.advance(4)
    else throw new BitswapMessageError(`unsupported protobuf wire type ${wire}`)
  }
  private advance(n: number): void {
    if (n > this.end - this.pos) throw new BitswapMessageError('truncated field')
    this.pos += n
  }
}

/** The four numbers of a CID prefix; a malformed one is a BitswapMessageError. */
export function decodeCidPrefix(prefix: Uint8Array): {
  version: number
  codec: number
  hashCode: number
  hashLength: number
} {
  const r = new Reader(prefix)
  return { version: r.varint(), codec: r.varint(), hashCode: r.varint(), hashLength: r.varint() }
}

function fields(r: Reader, on: (field: number, wire: number) => boolean): void {
  while (!r.done()) {
    const tag = r.varint()
    const field = Math.floor(tag / 8)
    const wire = tag & 7
    if (!on(field, wire)) r.skip(wire)
  }
}

function expectWire(field: string, wire: number, want: number): void {
  if (wire !== want) throw new BitswapMessageError(`${field} has wire type ${wire}, expected ${want}`)
}

function decodeWantlist(r: Reader): { entries: WantEntry[]; full: boolean } {
  const wl = { entries: [] as WantEntry[], full: false }
  fields(r, (field, wire) => {
    if (field === 1) {
      expectWire('wantlist entry', wire, 2)
      const e = r.sub()
      const entry: WantEntry = {
        cid: new Uint8Array(0),
        priority: 1,
        cancel: false,
        wantType: WantType.Block,
        sendDontHave: false,
      }
      let hasCid = false
      fields(e, (f, w) => {
        if (f === 1) {
          expectWire('entry block', w, 2)
          entry.cid = e.bytes()
          hasCid = true
        } else if (f >= 2 && f <= 5) {
          expectWire(`entry field ${f}`, w, 0)
          const v = e.varint()
          if (f === 2) entry.priority = v
          else if (f === 3) entry.cancel = v !== 0
          else if (f === 4) entry.wantType = v === 1 ? WantType.Have : WantType.Block
          else entry.sendDontHave = v !== 0
        } else return false
        return true
      })
      if (!hasCid) throw new BitswapMessageError('wantlist entry without a CID')
      wl.entries.push(entry)
      return true
    }
    if (field === 2) {
      expectWire('wantlist full', wire, 0)
      wl.full = r.varint() !== 0
      return true
    }
    return false
  })
  return wl
}

function decodeBlock(r: Reader): BlockPayload {
  let prefix: Uint8Array | undefined
  let data: Uint8Array | undefined
  fields(r, (f, w) => {
    if (f === 1) {
      expectWire('block prefix', w, 2)
      prefix = r.bytes()
    } else if (f === 2) {
      expectWire('block data', w, 2)
      data = r.bytes()
    } else return false
    return true
  })
  if (!prefix || !data) throw new BitswapMessageError('block without prefix or data')
  return { prefix, data }
}

function decodePresence(r: Reader): Presence {
  let cid: Uint8Array | undefined
  let type = PresenceType.Have
  fields(r, (f, w) => {
    if (f === 1) {
      expectWire('presence cid', w, 2)
      cid = r.bytes()
    } else if (f === 2) {
      expectWire('presence type', w, 0)
      type = r.varint() === 1 ? PresenceType.DontHave : PresenceType.Have
    } else return false
    return true
  })
  if (!cid) throw new BitswapMessageError('block presence without a CID')
  return { cid, type }
}

/** Decodes one message (without its length prefix). Blocks are views into `buf`. */
export function decodeMessage(buf: Uint8Array): BitswapMessage {
  const msg: BitswapMessage = { rawBlocks: [], blocks: [], presences: [], pendingBytes: 0 }
  const r = new Reader(buf)
  fields(r, (field, wire) => {
    switch (field) {
      case 1:
        expectWire('wantlist', wire, 2)
        msg.wantlist = decodeWantlist(r.sub())
        return true
      case 2:
        expectWire('blocks', wire, 2)
        msg.rawBlocks.push(r.bytes())
        return true
      case 3:
        expectWire('payload', wire, 2)
        msg.blocks.push(decodeBlock(r.sub()))
        return true
      case 4:
        expectWire('blockPresences', wire, 2)
        msg.presences.push(decodePresence(r.sub()))
        return true
      case 5:
        expectWire('pendingBytes', wire, 0)
        msg.pendingBytes = r.varint()
        return true
      default:
        return false
    }
  })
  return msg
}
