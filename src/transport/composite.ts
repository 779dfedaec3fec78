// A hybrid node's orchestrator reaches its own compute side in-process and every other
// compute node over the network: this joins the two behind one OrchestratorTransport.
import type { OrchestratorTransport } from './types.js'

export function compositeOrchestratorTransport(
  localNodeId: string,
  local: OrchestratorTransport,
  remote: OrchestratorTransport,
): OrchestratorTransport {
  const pick = (nodeId: string) => (nodeId === localNodeId ? local : remote)
  return {
    sendToCompute: (nodeId, message) => pick(nodeId).sendToCompute(nodeId, message),
    onComputeMessage: (handler) => {
      local.onComputeMessage(handler)
      remote.onComputeMessage(handler)
    },
    streamLogs: (nodeId, request, signal) => pick(nodeId).streamLogs(nodeId, request, signal),
  }
}
