// libp2p protocol IDs of this project's direct streams. Bumping a version is a wire break.

/** Served by compute nodes: one OrchestratorMessage per stream, answered by an ack. */
export const COMPUTE_PROTOCOL = '/bacalhau-ts/compute/1.0.0'
/** Served by orchestrators: one ComputeMessage per stream, answered by an ack. */
export const ORCHESTRATOR_PROTOCOL = '/bacalhau-ts/orchestrator/1.0.0'
/** Served by compute nodes: a LogRequest, answered by LogEntry frames and a terminator. */
export const LOGS_PROTOCOL = '/bacalhau-ts/logs/1.0.0'
