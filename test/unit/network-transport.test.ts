import {
  addrOf,
  captureLogger,
  newHost,
  nodeInfo,
  portOf,
  silent,
  sleep,
  waitFor,
} from './network-helpers.js'
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createLibp2p } from 'libp2p'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { lpStream } from '@libp2p/utils'
import type { Libp2p } from '@libp2p/interface'
import { libp2pOptions, type Host } from '../../src/network/host.js'
import {
  COMPUTE_PROTOCOL,
  LOGS_PROTOCOL,
  Libp2pTransport,
  ORCHESTRATOR_PROTOCOL,
} from '../../src/transport/libp2p.js'
import type { ComputeMessage, LogEntry, OrchestratorMessage } from '../../src/protocols/messages.js'

const TOKEN = 'unit-test-token'
const enc = new TextEncoder()

function varint(n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return Uint8Array.from(out)
}
const frame = (body: Uint8Array) => Uint8Array.from([...varint(body.byteLength), ...body])
const jsonFrame = (v: unknown) => frame(enc.encode(JSON.stringify(v)))

/** Writes raw bytes on a fresh stream and collects every JSON frame the peer answers with. */
async function raw(from: Libp2p, to: Libp2p, protocol: string, bytes: Uint8Array, closeWrite = true) {
  const s = await from.dialProtocol(to.getMultiaddrs()[0]!, protocol, { signal: AbortSignal.timeout(5000) })
  if (bytes.byteLength) s.send(bytes)
  if (closeWrite) await s.close()
  const lp = lpStream(s)
  const frames: any[] = []
  try {
    for (;;)
      frames.push(
        JSON.parse(
          new TextDecoder().decode((await lp.read({ signal: AbortSignal.timeout(5000) })).subarray()),
        ),
      )
  } catch {
    // end of stream (or reset): whatever arrived is the answer
  }
  return frames
}

const askForBid = (id: string, extra: Record<string, unknown> = {}): OrchestratorMessage => ({
  type: 'AskForBid',
  execution: { ID: id, JobID: `job-${id}`, Job: { ID: `job-${id}`, Tasks: [] }, ...extra },
  preApproved: false,
})
const bidResult = (nodeId: string, id: string): ComputeMessage => ({
  type: 'BidResult',
  nodeId,
  executionId: id,
  jobId: `job-${id}`,
  accepted: true,
  reason: '',
})

describe('libp2p transport', () => {
  let o1: Host, o2: Host, c1: Host, c2: Host, x: Host
  let tO1: Libp2pTransport, tO2: Libp2pTransport, tC1: Libp2pTransport, tC2: Libp2pTransport
  const atO1: ComputeMessage[] = []
  const atO2: ComputeMessage[] = []
  const atC1: OrchestratorMessage[] = []
  let followStopped = false
  const log = captureLogger('debug')

  before(async () => {
    ;[o1, o2, c1, c2, x] = await Promise.all([1, 2, 3, 4, 5].map(() => newHost({ token: TOKEN })))
    tO1 = new Libp2pTransport({
      host: o1,
      logger: log.logger,
      roles: { orchestrator: true },
      localNodeId: 'orch-1',
    })
    tO2 = new Libp2pTransport({ host: o2, logger: silent, roles: { orchestrator: true } })
    tO1.orchestrator.onComputeMessage((m) => void atO1.push(m))
    tO2.orchestrator.onComputeMessage((m) => void atO2.push(m))
    tC1 = new Libp2pTransport({
      host: c1,
      logger: log.logger,
      roles: { compute: true },
      orchestrators: [addrOf(o1), `127.0.0.1:${portOf(o2)}`],
      maxFrameBytes: 1024 * 1024,
      frameTimeoutMs: 1000,
    })
    tC1.compute.onOrchestratorMessage((m) => {
      if (m.type === 'CancelExecution' && m.reason === 'explode') throw new Error('handler exploded')
      atC1.push(m)
    })
    tC1.compute.onLogRequest(async function* (req, signal): AsyncGenerator<LogEntry> {
      if (req.executionId === 'e-done') {
        yield { Type: 1, Line: 'one' }
        yield { Type: 2, Line: 'two' }
        yield { Type: 1, Line: 'three' }
      } else if (req.executionId === 'e-error') {
        yield { Type: 1, Line: 'before the failure' }
        throw new Error('log file vanished')
      } else if (req.executionId === 'e-follow') {
        followStopped = false
        try {
          for (let i = 0; !signal.aborted; i++) {
            yield { Type: 1, Line: `line ${i}` }
            await sleep(10)
          }
        } finally {
          followStopped = signal.aborted
        }
      } else throw new Error(`execution ${req.executionId} not found`)
    })
    tC2 = new Libp2pTransport({
      host: c2,
      logger: silent,
      roles: { compute: true },
      orchestrators: [addrOf(o1)],
    })
    tC2.compute.onOrchestratorMessage(() => {})
    await Promise.all([tO1, tO2, tC1, tC2].map((t) => t.start()))
    await waitFor('compute connected to both orchestrators', () => tC1.connectedOrchestrators().length === 2)
    await tC1.compute.sendToOrchestrator(nodeInfo('c1'))
    await waitFor('c1 known to both', () => tO1.peerIdOf('c1') && tO2.peerIdOf('c1'))
  })

  after(async () => {
    await Promise.all([tO1, tO2, tC1, tC2].map((t) => t?.stop()))
    await Promise.all([o1, o2, c1, c2, x].map((h) => h?.stop()))
  })

  it('learns node IDs from node info sent to every connected orchestrator', () => {
    assert.equal(tO1.peerIdOf('c1'), c1.peerId.toString())
    assert.equal(tO2.peerIdOf('c1'), c1.peerId.toString())
    const ids = tC1.connectedOrchestrators().map(String).sort()
    assert.deepEqual(ids, [o1.peerId.toString(), o2.peerId.toString()].sort())
    assert.ok(atO1.some((m) => m.type === 'NodeInfoUpdate' && m.nodeId === 'c1'))
  })

  it('delivers AskForBid to the compute handler and returns BidResult to the orchestrator that asked', async () => {
    await tO1.orchestrator.sendToCompute('c1', askForBid('e1'))
    await tO2.orchestrator.sendToCompute('c1', askForBid('e2'))
    const got = atC1.find((m) => m.type === 'AskForBid' && m.execution.ID === 'e1')
    assert.deepEqual(got, askForBid('e1'))
    await tC1.compute.sendToOrchestrator(bidResult('c1', 'e1'))
    await tC1.compute.sendToOrchestrator(bidResult('c1', 'e2'))
    await waitFor(
      'bid results',
      () => atO1.some((m) => m.type === 'BidResult') && atO2.some((m) => m.type === 'BidResult'),
    )
    assert.deepEqual(
      atO1.filter((m) => m.type === 'BidResult').map((m) => (m as { executionId: string }).executionId),
      ['e1'],
    )
    assert.deepEqual(
      atO2.filter((m) => m.type === 'BidResult').map((m) => (m as { executionId: string }).executionId),
      ['e2'],
    )
  })

  it('keeps an execution with the orchestrator that asked for it', async () => {
    await assert.rejects(
      tO2.orchestrator.sendToCompute('c1', {
        type: 'CancelExecution',
        executionId: 'e1',
        jobId: 'job-e1',
        reason: 'mine',
      }),
      /belongs to another orchestrator/,
    )
    await tO1.orchestrator.sendToCompute('c1', { type: 'BidAccepted', executionId: 'e1', jobId: 'job-e1' })
    assert.ok(atC1.some((m) => m.type === 'BidAccepted'))
  })

  it('passes a handler failure back as a rejection', async () => {
    await assert.rejects(
      tO1.orchestrator.sendToCompute('c1', {
        type: 'CancelExecution',
        executionId: 'e1',
        jobId: 'job-e1',
        reason: 'explode',
      }),
      /CancelExecution to compute node c1: peer refused it: handler exploded/,
    )
  })

  it('rejects sends to unknown nodes and results for unknown executions with clear errors', async () => {
    await assert.rejects(
      tO1.orchestrator.sendToCompute('nobody', askForBid('e9')),
      /compute node nobody is unknown/,
    )
    await assert.rejects(
      tC1.compute.sendToOrchestrator(bidResult('c1', 'never-asked')),
      /no orchestrator is known for execution never-asked/,
    )
    const it = tO1.orchestrator.streamLogs(
      'nobody',
      { executionId: 'e', follow: false, tail: false },
      new AbortController().signal,
    )
    await assert.rejects(async () => {
      for await (const _ of it) void _
    }, /compute node nobody is unknown/)
  })

  it('refuses garbage on the compute protocol and keeps serving', async () => {
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['invalid JSON', frame(enc.encode('{"type":')), /not valid JSON/],
      ['invalid UTF-8', frame(Uint8Array.from([0xc3, 0x28])), /not valid UTF-8/],
      ['bad length prefix', Uint8Array.from(Array(12).fill(0xff)), /frame rejected/],
      [
        'oversized frame',
        Uint8Array.from([...varint(17 * 1024 * 1024), 1, 2, 3]),
        /frame rejected: Message length too long/,
      ],
      ['truncated frame', Uint8Array.from([...varint(100), 1, 2, 3]), /stream ended before a complete frame/],
      ['schema-invalid', jsonFrame({ type: 'AskForBid' }), /invalid message: .*execution/],
      ['unknown type', jsonFrame({ type: 'RunResult', nodeId: 'x' }), /invalid message: type/],
      [
        'no execution ID',
        jsonFrame({ type: 'AskForBid', execution: {}, preApproved: false }),
        /execution\.ID/,
      ],
    ]
    for (const [name, bytes, expect] of cases) {
      const frames = await raw(x, c1, COMPUTE_PROTOCOL, bytes)
      assert.equal(frames.length, 1, name)
      assert.equal(frames[0].ok, false, name)
      assert.match(frames[0].error, expect, name)
      await tO1.orchestrator.sendToCompute('c1', askForBid(`after-${name}`))
    }
    const warns = log.lines.filter(
      (l) =>
        l.msg === 'rejected inbound message' &&
        l.protocol === COMPUTE_PROTOCOL &&
        l.peer === x.peerId.toString(),
    )
    assert.equal(warns.length, cases.length)
    assert.ok(warns.every((w) => w.level === 40 && typeof w.reason === 'string'))
  })

  it('handles one request per stream and ignores frames after it', async () => {
    const before = atC1.length
    const bytes = Uint8Array.from([...jsonFrame(askForBid('first')), ...jsonFrame(askForBid('second'))])
    assert.deepEqual(await raw(x, c1, COMPUTE_PROTOCOL, bytes), [{ ok: true }])
    await tO1.orchestrator.sendToCompute('c1', askForBid('third'))
    const ids = atC1.slice(before).map((m) => (m.type === 'AskForBid' ? m.execution.ID : m.type))
    assert.deepEqual(ids, ['first', 'third'])
  })

  it('refuses a real frame above the size limit and one that never arrives', async () => {
    const big = askForBid('big', { Pad: 'x'.repeat(1.5 * 1024 * 1024) })
    await assert.rejects(tO1.orchestrator.sendToCompute('c1', big), /Message length too long/)
    const started = Date.now()
    const frames = await raw(x, c1, COMPUTE_PROTOCOL, new Uint8Array(0), false)
    assert.match(frames[0].error, /no frame within 1000 ms/)
    assert.ok(Date.now() - started < 3000)
    await tO1.orchestrator.sendToCompute('c1', askForBid('after-big'))
  })

  it('refuses garbage and impostors on the orchestrator protocol', async () => {
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['invalid JSON', frame(enc.encode('nope')), /not valid JSON/],
      ['oversized', Uint8Array.from([...varint(17 * 1024 * 1024), 0]), /too long/],
      ['schema-invalid', jsonFrame({ type: 'NodeInfoUpdate', nodeId: 'z' }), /invalid message: .*bootId/],
      ['orchestrator message', jsonFrame(askForBid('zz')), /invalid message/],
      [
        'unannounced sender',
        jsonFrame(bidResult('c1', 'e1')),
        /node c1 has not announced itself from this peer/,
      ],
      ['stolen node ID', jsonFrame(nodeInfo('c1', 'spoofed')), /node ID c1 is bound to another peer/],
      ["the orchestrator's own ID", jsonFrame(nodeInfo('orch-1')), /node ID orch-1 is bound to another peer/],
      ['mismatched NodeID', jsonFrame({ ...nodeInfo('x1'), info: { NodeID: 'c1' } }), /does not match/],
    ]
    for (const [name, bytes, expect] of cases) {
      const frames = await raw(x, o1, ORCHESTRATOR_PROTOCOL, bytes)
      assert.equal(frames[0]?.ok, false, name)
      assert.match(frames[0].error, expect, name)
    }
    assert.ok(!atO1.some((m) => m.type === 'NodeInfoUpdate' && m.bootId === 'spoofed'))
    assert.equal(tO1.peerIdOf('c1'), c1.peerId.toString())
    const frames = await raw(x, o1, ORCHESTRATOR_PROTOCOL, jsonFrame(nodeInfo('x-node')))
    assert.deepEqual(frames, [{ ok: true }])
    assert.equal(tO1.peerIdOf('x-node'), x.peerId.toString())
  })

  it('ignores a second peer announcing a taken node ID through the transport', async () => {
    const before = atO1.length
    await tC2.compute.sendToOrchestrator(nodeInfo('c1', 'spoofed')).catch(() => {})
    await tC2.compute.sendToOrchestrator(nodeInfo('c2'))
    await waitFor('c2 known', () => tO1.peerIdOf('c2'))
    await sleep(200)
    assert.ok(!atO1.slice(before).some((m) => m.type === 'NodeInfoUpdate' && m.nodeId === 'c1'))
    assert.equal(tO1.peerIdOf('c1'), c1.peerId.toString())
    assert.ok(
      log.lines.some(
        (l) => String(l.msg).includes('bound to another peer') && l.peer === c2.peerId.toString(),
      ),
    )
  })

  it('streams logs to the end', async () => {
    const got: LogEntry[] = []
    const signal = new AbortController().signal
    for await (const e of tO1.orchestrator.streamLogs(
      'c1',
      { executionId: 'e-done', follow: false, tail: false },
      signal,
    ))
      got.push(e)
    assert.deepEqual(got, [
      { Type: 1, Line: 'one' },
      { Type: 2, Line: 'two' },
      { Type: 1, Line: 'three' },
    ])
  })

  it('follows a log until the reader aborts, and stops the compute-side reader', async () => {
    const ac = new AbortController()
    const got: LogEntry[] = []
    for await (const e of tO1.orchestrator.streamLogs(
      'c1',
      { executionId: 'e-follow', follow: true, tail: false },
      ac.signal,
    )) {
      got.push(e)
      if (got.length === 5) ac.abort()
    }
    assert.ok(got.length >= 5)
    assert.equal(got[4]!.Line, 'line 4')
    await waitFor('compute reader stopped', () => followStopped)
  })

  it('stops the compute-side reader when the consumer breaks out', async () => {
    let n = 0
    for await (const _ of tO2.orchestrator.streamLogs(
      'c1',
      { executionId: 'e-follow', follow: true, tail: false },
      new AbortController().signal,
    )) {
      void _
      if (++n === 3) break
    }
    await waitFor('compute reader stopped', () => followStopped)
  })

  it('throws the compute side error frame', async () => {
    const got: LogEntry[] = []
    await assert.rejects(async () => {
      for await (const e of tO1.orchestrator.streamLogs(
        'c1',
        { executionId: 'e-error', follow: false, tail: false },
        new AbortController().signal,
      ))
        got.push(e)
    }, /log file vanished/)
    assert.deepEqual(got, [{ Type: 1, Line: 'before the failure' }])
  })

  it('answers an invalid log request with an error frame and keeps serving', async () => {
    const bad = await raw(x, c1, LOGS_PROTOCOL, jsonFrame({ executionId: 'e-done', follow: 'yes' }))
    assert.equal(bad.length, 1)
    assert.match(bad[0].error, /invalid message: .*follow/)
    const garbage = await raw(x, c1, LOGS_PROTOCOL, frame(enc.encode('][')))
    assert.match(garbage[0].error, /not valid JSON/)
    const good = await raw(
      x,
      c1,
      LOGS_PROTOCOL,
      jsonFrame({ executionId: 'e-done', follow: false, tail: false }),
    )
    assert.deepEqual(good.at(-1), { end: true })
    assert.equal(good.length, 4)
  })

  it('rejects a log stream whose frames are not log frames', async () => {
    // A peer that answers the log protocol with acks instead of entries.
    const rogue = await newHost({ token: TOKEN })
    const oh = await newHost({ token: TOKEN })
    const t = new Libp2pTransport({ host: oh, logger: silent, roles: { orchestrator: true } })
    t.orchestrator.onComputeMessage(() => {})
    try {
      await rogue.handle(LOGS_PROTOCOL, async (stream) => {
        const lp = lpStream(stream)
        await lp.read()
        await lp.write(enc.encode(JSON.stringify({ ok: true })))
        await stream.close()
      })
      await t.start()
      assert.deepEqual(await raw(rogue, oh, ORCHESTRATOR_PROTOCOL, jsonFrame(nodeInfo('rogue'))), [
        { ok: true },
      ])
      await assert.rejects(async () => {
        for await (const _ of t.orchestrator.streamLogs(
          'rogue',
          { executionId: 'e', follow: false, tail: false },
          new AbortController().signal,
        ))
          void _
      }, /unexpected frame on the log stream/)
    } finally {
      await t.stop()
      await Promise.all([rogue.stop(), oh.stop()])
    }
  })
})

describe('libp2p transport: connecting', () => {
  const hosts: Libp2p[] = []
  const transports: Libp2pTransport[] = []
  after(async () => {
    await Promise.all(transports.map((t) => t.stop()))
    await Promise.all(hosts.map((h) => h.stop()))
  })

  it('dials a late orchestrator, tells it the node info directly, and reconnects after a drop', async () => {
    // The orchestrator has no gossip at all: only the direct path can teach it the node.
    const probe = await newHost({ token: TOKEN })
    const port = portOf(probe)
    await probe.stop()
    const compute = await newHost({ token: TOKEN })
    hosts.push(compute)
    const tc = new Libp2pTransport({
      host: compute,
      logger: silent,
      roles: { compute: true },
      orchestrators: [`127.0.0.1:${port}`],
      reconnectInitialMs: 100,
      reconnectMaxMs: 400,
      dialTimeoutMs: 1000,
    })
    transports.push(tc)
    tc.compute.onOrchestratorMessage(() => {})
    await tc.start()
    await assert.rejects(
      tc.compute.sendToOrchestrator(nodeInfo('late')),
      /reached no orchestrator|no gossip peers/,
    )

    await sleep(300)
    const options = libp2pOptions({
      privateKey: await generateKeyPair('Ed25519'),
      listen: [`/ip4/127.0.0.1/tcp/${port}`],
      token: TOKEN,
    })
    const { pubsub: _pubsub, ...services } = options.services!
    void _pubsub
    const orch = await createLibp2p({ ...options, services: services as any })
    hosts.push(orch)
    const to = new Libp2pTransport({ host: orch, logger: silent, roles: { orchestrator: true } })
    transports.push(to)
    assert.equal(to.gossip, undefined)
    const seen: ComputeMessage[] = []
    to.orchestrator.onComputeMessage((m) => void seen.push(m))
    await to.start()
    await waitFor('node info over the direct protocol', () => to.peerIdOf('late'), 5000)
    assert.equal(to.peerIdOf('late'), compute.peerId.toString())

    const before = seen.length
    await orch.hangUp(compute.peerId)
    await waitFor(
      'reconnected and re-announced',
      () => seen.length > before && tc.connectedOrchestrators().length === 1,
      5000,
    )
    await to.orchestrator.sendToCompute('late', askForBid('after-reconnect'))
  })

  it('stop() unhandles protocols and ends reconnect loops', async () => {
    const o = await newHost({ token: TOKEN })
    const c = await newHost({ token: TOKEN })
    hosts.push(o, c)
    const to = new Libp2pTransport({ host: o, logger: silent, roles: { orchestrator: true } })
    const tc = new Libp2pTransport({
      host: c,
      logger: silent,
      roles: { compute: true },
      orchestrators: [addrOf(o)],
    })
    transports.push(to)
    to.orchestrator.onComputeMessage(() => {})
    tc.compute.onOrchestratorMessage(() => {})
    await to.start()
    await tc.start()
    await waitFor('connected', () => tc.connectedOrchestrators().length === 1)
    await tc.compute.sendToOrchestrator(nodeInfo('stopper'))
    await waitFor('known', () => to.peerIdOf('stopper'))
    const t0 = Date.now()
    await tc.stop()
    assert.ok(Date.now() - t0 < 1000)
    assert.ok(!c.getProtocols().includes(COMPUTE_PROTOCOL))
    await assert.rejects(to.orchestrator.sendToCompute('stopper', askForBid('x')), /does not serve/)
    // Once the peer is gone entirely, opening the stream is retried and then reported.
    await c.stop()
    const t1 = Date.now()
    await assert.rejects(
      to.orchestrator.sendToCompute('stopper', askForBid('y')),
      /AskForBid to compute node stopper: cannot open \/bacalhau-ts\/compute\/1\.0\.0 to peer/,
    )
    assert.ok(Date.now() - t1 >= 700, 'three attempts with backoff')
  })

  it('runs a hybrid node through its own transport without the network', async () => {
    const h = await newHost({ token: TOKEN })
    hosts.push(h)
    const t = new Libp2pTransport({ host: h, logger: silent, roles: { orchestrator: true, compute: true } })
    transports.push(t)
    const toOrch: ComputeMessage[] = []
    const toCompute: OrchestratorMessage[] = []
    t.orchestrator.onComputeMessage((m) => void toOrch.push(m))
    t.compute.onOrchestratorMessage((m) => void toCompute.push(m))
    t.compute.onLogRequest(async function* () {
      yield { Type: 1, Line: 'local' }
    })
    await t.start()
    await t.compute.sendToOrchestrator(nodeInfo('hybrid'))
    assert.equal(t.peerIdOf('hybrid'), h.peerId.toString())
    const ask = askForBid('h1')
    await t.orchestrator.sendToCompute('hybrid', ask)
    assert.deepEqual(toCompute, [ask])
    assert.notEqual(toCompute[0], ask, 'delivered as a copy')
    await t.compute.sendToOrchestrator(bidResult('hybrid', 'h1'))
    assert.equal(toOrch.at(-1)?.type, 'BidResult')
    const lines: LogEntry[] = []
    for await (const e of t.orchestrator.streamLogs(
      'hybrid',
      { executionId: 'h1', follow: false, tail: false },
      new AbortController().signal,
    ))
      lines.push(e)
    assert.deepEqual(lines, [{ Type: 1, Line: 'local' }])
  })
})
