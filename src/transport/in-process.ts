// The Transport for a hybrid node and for tests: orchestrator and compute in one process.
// Messages are cloned and delivered asynchronously, as a network would, so neither side
// can depend on shared object identity or on re-entrant calls.
import type { ComputeMessage, LogEntry, LogRequest, OrchestratorMessage } from '../protocols/messages.js'
import type { ComputeTransport, OrchestratorTransport } from './types.js'

type Handler<T> = (message: T) => void | Promise<void>
type LogHandler = (request: LogRequest, signal: AbortSignal) => AsyncIterable<LogEntry>

interface ComputeEnd {
  onMessage?: Handler<OrchestratorMessage>
  onLogs?: LogHandler
}

export class InProcessNetwork {
  private readonly computes = new Map<string, ComputeEnd>()
  private orchestratorHandler?: Handler<ComputeMessage>

  readonly orchestrator: OrchestratorTransport = {
    sendToCompute: async (nodeId, message) => {
      const end = this.computes.get(nodeId)
      if (!end?.onMessage) throw new Error(`compute node ${nodeId} is not connected`)
      const copy = structuredClone(message)
      queueMicrotask(() => this.deliver(end.onMessage!, copy))
    },
    onComputeMessage: (handler) => {
      this.orchestratorHandler = handler
    },
    streamLogs: (nodeId, request, signal) => {
      const end = this.computes.get(nodeId)
      if (!end?.onLogs) throw new Error(`compute node ${nodeId} is not connected`)
      return end.onLogs(request, signal)
    },
  }

  /** Attaches a compute node under its ID and returns its side of the transport. */
  connectCompute(nodeId: string): ComputeTransport {
    const end: ComputeEnd = {}
    this.computes.set(nodeId, end)
    return {
      sendToOrchestrator: async (message) => {
        const handler = this.orchestratorHandler
        if (!handler) throw new Error('no orchestrator is connected')
        const copy = structuredClone(message)
        queueMicrotask(() => this.deliver(handler, copy))
      },
      onOrchestratorMessage: (handler) => {
        end.onMessage = handler
      },
      onLogRequest: (handler) => {
        end.onLogs = handler
      },
    }
  }

  disconnectCompute(nodeId: string): void {
    this.computes.delete(nodeId)
  }

  private deliver<T>(handler: Handler<T>, message: T): void {
    try {
      const r = handler(message)
      if (r && typeof (r as Promise<void>).catch === 'function') (r as Promise<void>).catch(() => {})
    } catch {
      // A handler's own failure is its own to log; delivery never throws back.
    }
  }
}
