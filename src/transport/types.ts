// The seam between orchestrator and compute (DESIGN.md): both sides talk only through a
// Transport, so a hybrid node, unit tests and a libp2p network run the same code paths.
import type { ComputeMessage, LogEntry, LogRequest, OrchestratorMessage } from '../protocols/messages.js'

/** What the orchestrator side of a transport offers. */
export interface OrchestratorTransport {
  /** Deliver a message to one compute node. Rejects if the node is unreachable. */
  sendToCompute(nodeId: string, message: OrchestratorMessage): Promise<void>
  /** Register the handler for messages from any compute node. */
  onComputeMessage(handler: (message: ComputeMessage) => void | Promise<void>): void
  /** Open a log stream from the compute node running an execution. */
  streamLogs(nodeId: string, request: LogRequest, signal: AbortSignal): AsyncIterable<LogEntry>
}

/** What the compute side of a transport offers. */
export interface ComputeTransport {
  sendToOrchestrator(message: ComputeMessage): Promise<void>
  onOrchestratorMessage(handler: (message: OrchestratorMessage) => void | Promise<void>): void
  /** Serve log requests from orchestrators. */
  onLogRequest(handler: (request: LogRequest, signal: AbortSignal) => AsyncIterable<LogEntry>): void
}
