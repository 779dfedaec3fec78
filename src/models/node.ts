// NodeInfo / NodeState and build information (bacalhau-api.md §2.15–2.17).
import type { ResourcesUsage } from './execution.js'

export interface BuildVersionInfo {
  Major: string
  Minor: string
  GitVersion: string
  GitCommit: string
  BuildDate: string
  GOOS: string
  GOARCH: string
}

export interface ComputeNodeInfo {
  ExecutionEngines: string[]
  Publishers: string[]
  StorageSources: string[]
  MaxCapacity: ResourcesUsage
  QueueCapacity: ResourcesUsage
  AvailableCapacity: ResourcesUsage
  MaxJobRequirements: ResourcesUsage
  RunningExecutions: number
  EnqueuedExecutions: number
  address: string
}

export interface NodeInfo {
  NodeID: string
  NodeType: 'Requester' | 'Compute'
  Labels: Record<string, string>
  SupportedProtocols: string[]
  ComputeNodeInfo: ComputeNodeInfo
  BacalhauVersion: BuildVersionInfo
}

export interface ConnectionState {
  Status: 'CONNECTED' | 'DISCONNECTED'
  LastHeartbeat: string
  ConnectedSince: string
  DisconnectedSince: string
  LastError?: string
}

export interface NodeState {
  Info: NodeInfo
  Membership: 'PENDING' | 'APPROVED' | 'REJECTED' | ''
  Connection: 'CONNECTED' | 'DISCONNECTED'
  ConnectionState: ConnectionState
}

export const emptyComputeNodeInfo = (): ComputeNodeInfo => ({
  ExecutionEngines: [],
  Publishers: [],
  StorageSources: [],
  MaxCapacity: {},
  QueueCapacity: {},
  AvailableCapacity: {},
  MaxJobRequirements: {},
  RunningExecutions: 0,
  EnqueuedExecutions: 0,
  address: '',
})
