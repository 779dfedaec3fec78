// The orchestrator's live node table: who has joined, their membership and liveness, and
// what each compute node can run. Fed by NodeInfoUpdate messages (heartbeats later).
import { BacalhauError } from '../models/errors.js'
import type { NodeInfo, NodeState } from '../models/node.js'
import type { ListNodesQuery } from './service.js'
import { selectorMatches } from '../models/labels.js'

const ZERO_TIME = '0001-01-01T00:00:00Z'

export interface NodeRecord {
  state: NodeState
  /** Changes every time the node process starts; a new value means it restarted. */
  bootId: string
  lastSeen: number
}

export interface NodePersistence {
  load(): Array<{ id: string; bootId: string; state: unknown }>
  save(id: string, bootId: string, state: NodeState): void
  remove(id: string): void
}

export class NodeManager {
  private readonly nodes = new Map<string, NodeRecord>()

  constructor(
    private readonly self: NodeInfo,
    private readonly opts: {
      manualApproval: boolean
      disconnectTimeoutMs: number
      persistence?: NodePersistence
      /** Called when a node record is deleted, so the network forgets its identity too. */
      onDelete?: (nodeId: string) => void
    },
  ) {
    // Known nodes come back as connected with a fresh deadline: they get one disconnect
    // timeout to report in before their executions are given up.
    for (const r of opts.persistence?.load() ?? []) {
      const state = r.state as NodeState
      if (state.Membership !== 'REJECTED') {
        state.Connection = 'CONNECTED'
        state.ConnectionState.Status = 'CONNECTED'
      }
      this.nodes.set(r.id, { state, bootId: r.bootId, lastSeen: Date.now() })
    }
  }

  private persist(id: string): void {
    const rec = this.nodes.get(id)
    if (rec) this.opts.persistence?.save(id, rec.bootId, rec.state)
    else this.opts.persistence?.remove(id)
  }

  /** Records a node's info. Returns the previous bootId when the node restarted. */
  upsert(info: NodeInfo, bootId: string): { restartedFrom?: string; joined: boolean } {
    const now = new Date().toISOString()
    const existing = this.nodes.get(info.NodeID)
    if (!existing) {
      this.nodes.set(info.NodeID, {
        bootId,
        lastSeen: Date.now(),
        state: {
          Info: info,
          Membership: this.opts.manualApproval ? 'PENDING' : 'APPROVED',
          Connection: 'CONNECTED',
          ConnectionState: {
            Status: 'CONNECTED',
            LastHeartbeat: now,
            ConnectedSince: now,
            DisconnectedSince: ZERO_TIME,
          },
        },
      })
      this.persist(info.NodeID)
      return { joined: true }
    }
    const restartedFrom = existing.bootId !== bootId ? existing.bootId : undefined
    const wasConnected = existing.state.Connection === 'CONNECTED'
    existing.bootId = bootId
    existing.lastSeen = Date.now()
    existing.state.Info = info
    if (existing.state.Membership !== 'REJECTED') {
      existing.state.Connection = 'CONNECTED'
      existing.state.ConnectionState.Status = 'CONNECTED'
      existing.state.ConnectionState.LastHeartbeat = now
      if (!wasConnected) existing.state.ConnectionState.ConnectedSince = now
    }
    if (restartedFrom || !wasConnected) this.persist(info.NodeID)
    return { restartedFrom, joined: !wasConnected }
  }

  /** Marks nodes not heard from within the disconnect timeout; returns their IDs. */
  sweep(): string[] {
    const lost: string[] = []
    const cutoff = Date.now() - this.opts.disconnectTimeoutMs
    for (const [id, rec] of this.nodes) {
      if (rec.state.Connection === 'CONNECTED' && rec.lastSeen < cutoff) {
        this.markDisconnected(id, 'heartbeat timeout')
        lost.push(id)
      }
    }
    return lost
  }

  markDisconnected(id: string, reason: string): void {
    const rec = this.nodes.get(id)
    if (!rec) return
    rec.state.Connection = 'DISCONNECTED'
    rec.state.ConnectionState.Status = 'DISCONNECTED'
    rec.state.ConnectionState.DisconnectedSince = new Date().toISOString()
    rec.state.ConnectionState.LastError = reason
    rec.state.Info.ComputeNodeInfo.AvailableCapacity = {}
  }

  /** Compute nodes that may receive work: approved and connected. */
  schedulable(): NodeInfo[] {
    const out: NodeInfo[] = []
    for (const rec of this.nodes.values())
      if (rec.state.Membership === 'APPROVED' && rec.state.Connection === 'CONNECTED')
        out.push(rec.state.Info)
    return out
  }

  isHealthy(nodeId: string): boolean {
    const rec = this.nodes.get(nodeId)
    return !!rec && rec.state.Membership === 'APPROVED' && rec.state.Connection === 'CONNECTED'
  }

  /** The node list as the API shows it, the orchestrator itself included. */
  list(q: ListNodesQuery = {}): NodeState[] {
    const now = new Date().toISOString()
    const selfState: NodeState = {
      Info: this.self,
      Membership: 'APPROVED',
      Connection: 'CONNECTED',
      ConnectionState: {
        Status: 'CONNECTED',
        LastHeartbeat: now,
        ConnectedSince: now,
        DisconnectedSince: ZERO_TIME,
      },
    }
    let all = [...this.nodes.values()].map((r) => r.state)
    if (!this.nodes.has(this.self.NodeID)) all.unshift(selfState)
    if (q.labels?.length) all = all.filter((n) => selectorMatches(q.labels!, n.Info.Labels ?? {}))
    if (q.filterApproval) all = all.filter((n) => n.Membership === q.filterApproval!.toUpperCase())
    if (q.filterStatus) all = all.filter((n) => n.Connection === q.filterStatus!.toUpperCase())
    const order = q.orderBy ?? ''
    const cap = (n: NodeState, k: 'CPU' | 'Memory' | 'Disk' | 'GPU') =>
      n.Info.ComputeNodeInfo.AvailableCapacity[k] ?? 0
    const sorters: Record<string, (a: NodeState, b: NodeState) => number> = {
      '': (a, b) => a.Info.NodeID.localeCompare(b.Info.NodeID),
      id: (a, b) => a.Info.NodeID.localeCompare(b.Info.NodeID),
      type: (a, b) => (a.Info.NodeType === b.Info.NodeType ? 0 : a.Info.NodeType === 'Requester' ? -1 : 1),
      available_cpu: (a, b) => cap(b, 'CPU') - cap(a, 'CPU'),
      available_memory: (a, b) => cap(b, 'Memory') - cap(a, 'Memory'),
      available_disk: (a, b) => cap(b, 'Disk') - cap(a, 'Disk'),
      available_gpu: (a, b) => cap(b, 'GPU') - cap(a, 'GPU'),
      approval: (a, b) => a.Membership.localeCompare(b.Membership),
      status: (a, b) => a.Membership.localeCompare(b.Membership),
    }
    const sorter = sorters[order]
    if (!sorter)
      throw new BacalhauError(`invalid order_by: ${order}`, { code: 'BadRequest', component: 'NodesManager' })
    all.sort(sorter)
    if (q.reverse) all.reverse()
    if (q.limit && q.limit > 0) all = all.slice(0, q.limit)
    return all
  }

  get(prefix: string): NodeState {
    const matches = this.list().filter((n) => n.Info.NodeID.startsWith(prefix))
    const exact = matches.find((n) => n.Info.NodeID === prefix)
    if (exact) return exact
    if (matches.length === 0)
      throw new BacalhauError(`node not found: ${prefix}`, { code: 'NotFound', component: 'NodesManager' })
    if (matches.length > 1)
      throw new BacalhauError(`multiple nodes found for prefix: ${prefix}`, {
        code: 'MultipleNodesFound',
        component: 'NodesManager',
        hint: 'Use a more specific node ID prefix',
      })
    return matches[0]
  }

  action(prefix: string, action: string): void {
    const node = this.get(prefix)
    const rec = this.nodes.get(node.Info.NodeID)
    if (!rec)
      throw new BacalhauError(`cannot ${action} the orchestrator itself`, {
        code: 'BadRequest',
        component: 'NodesManager',
      })
    switch (action) {
      case 'approve':
        if (rec.state.Membership === 'APPROVED')
          throw new BacalhauError('node already approved', {
            code: 'ConflictNodeState',
            component: 'NodesManager',
          })
        rec.state.Membership = 'APPROVED'
        this.persist(node.Info.NodeID)
        return
      case 'reject':
        if (rec.state.Membership === 'REJECTED')
          throw new BacalhauError('node already rejected', {
            code: 'ConflictNodeState',
            component: 'NodesManager',
          })
        rec.state.Membership = 'REJECTED'
        this.markDisconnected(node.Info.NodeID, 'node rejected')
        this.persist(node.Info.NodeID)
        return
      case 'delete':
        this.nodes.delete(node.Info.NodeID)
        this.persist(node.Info.NodeID)
        this.opts.onDelete?.(node.Info.NodeID)
        return
      default:
        throw new Error(`unsupported action ${action}`)
    }
  }
}
