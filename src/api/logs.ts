// GET /api/v1/orchestrator/jobs/{id}/logs as a WebSocket (reference §1.6 #18). Bacalhau
// upgrades before looking anything up, so lookup failures arrive as an error frame.
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocket, WebSocketServer } from 'ws'
import type { LogsQuery, OrchestratorApi } from '../orchestrator/service.js'
import type { Logger } from '../util/logger.js'

// Above this many unsent bytes we wait for the socket to drain before pulling more log entries.
const HIGH_WATER_BYTES = 1 << 20

interface Frame {
  value: { Type: number; Line: string }
  error?: string
}

function sendFrame(ws: WebSocket, frame: Frame): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState !== WebSocket.OPEN) return resolve()
    let settled = false
    const done = () => {
      if (!settled) {
        settled = true
        resolve()
      }
    }
    // A failed send surfaces as a socket 'error'/'close', which aborts the stream.
    ws.send(JSON.stringify(frame), done)
    if (ws.bufferedAmount < HIGH_WATER_BYTES) done()
  })
}

export class LogStreams {
  private readonly wss: WebSocketServer
  private readonly active = new Set<AbortController>()

  constructor(
    private readonly orchestrator: OrchestratorApi,
    private readonly log: Logger,
    responseHeaders: (req: IncomingMessage) => Record<string, string>,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 })
    this.wss.on('headers', (headers, req) => {
      for (const [k, v] of Object.entries(responseHeaders(req))) headers.push(`${k}: ${v}`)
    })
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, jobId: string, query: LogsQuery): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      void this.serve(ws, jobId, query)
    })
  }

  private async serve(ws: WebSocket, jobId: string, query: LogsQuery): Promise<void> {
    const ac = new AbortController()
    this.active.add(ac)
    const abort = () => ac.abort()
    ws.on('close', abort)
    ws.on('error', (err) => {
      this.log.debug({ err, jobId }, 'log stream socket error')
      abort()
    })
    try {
      for await (const entry of this.orchestrator.streamLogs(jobId, query, ac.signal)) {
        if (ac.signal.aborted) break
        await sendFrame(ws, { value: { Type: entry.Type, Line: entry.Line } })
      }
    } catch (err) {
      if (!ac.signal.aborted) {
        const message = err instanceof Error ? err.message : String(err)
        this.log.debug({ err, jobId }, 'log stream failed')
        await sendFrame(ws, { value: { Type: 0, Line: '' }, error: message })
      }
    } finally {
      this.active.delete(ac)
      if (ws.readyState === WebSocket.OPEN) ws.close(1000)
      ac.abort()
    }
  }

  close(): void {
    for (const ac of this.active) ac.abort()
    this.active.clear()
    for (const ws of this.wss.clients) ws.terminate()
    this.wss.close()
  }
}
