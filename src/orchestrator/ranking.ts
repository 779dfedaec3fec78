// Node ranking (bacalhau-behaviour.md §3.5): each ranker adds a score; any failing
// ranker makes the node unsuitable and keeps the reason for the "not enough nodes"
// message. Built to rank a table of 10,000 nodes in a few milliseconds: per-job work is
// done once, per-node work is a handful of comparisons, and only the best k are sorted.
import { ExecutionStateType, isDiscardedExecutionState } from '../models/enums.js'
import type { Execution, ResourcesUsage } from '../models/execution.js'
import type { Job } from '../models/job.js'
import { requirementMatches } from '../models/labels.js'
import type { NodeInfo } from '../models/node.js'
import { parseResourcesConfig } from '../models/resources.js'

export interface RankedNode {
  node: NodeInfo
  rank: number
  reasons: string[]
}

export interface Ranking {
  /** Suitable nodes (rank ≥ 0), in no particular order: use best(k) for the top ones. */
  suitable: RankedNode[]
  unsuitable: RankedNode[]
  /** The k highest-ranked suitable nodes, best first. */
  best(k: number): RankedNode[]
  total: number
}

const lowerSet = (list: string[]) => {
  const s = new Set<string>()
  for (const x of list) s.add(x.toLowerCase())
  return s
}

export function rankNodes(job: Job, nodes: NodeInfo[], executions: Execution[]): Ranking {
  const task = job.Tasks[0]
  let usage: ResourcesUsage = {}
  try {
    usage = parseResourcesConfig(task?.Resources)
  } catch {
    usage = {}
  }
  const hasUsage = !!(usage.CPU || usage.Memory || usage.Disk || usage.GPU)
  const engine = (task?.Engine?.Type ?? '').toLowerCase()
  const publisher = (task?.Publisher?.Type ?? '').toLowerCase()
  const inputTypes = [...new Set((task?.InputSources ?? []).map((s) => (s.Source?.Type ?? '').toLowerCase()))]
  const hard = job.Constraints.filter((c) => !c.Key.startsWith('favour_'))
  const soft = job.Constraints.filter((c) => c.Key.startsWith('favour_')).map((c) => ({
    ...c,
    Key: c.Key.slice('favour_'.length),
  }))
  // Executions of this job version, grouped by node, looked up once per node.
  const byNode = new Map<string, Execution[]>()
  for (const e of executions) {
    if (e.JobVersion !== job.Version) continue
    const list = byNode.get(e.NodeID)
    if (list) list.push(e)
    else byNode.set(e.NodeID, [e])
  }

  const suitable: RankedNode[] = []
  const unsuitable: RankedNode[] = []
  for (const node of nodes) {
    const info = node.ComputeNodeInfo
    const labels = node.Labels ?? {}
    const reasons: string[] = []
    let rank = 0
    const engines = info.ExecutionEngines
    if (engines.includes(engine) || lowerSet(engines).has(engine)) rank += 10
    else reasons.push(`does not support engine ${engine}`)
    if (!publisher || info.Publishers.includes(publisher) || lowerSet(info.Publishers).has(publisher))
      rank += 10
    else reasons.push(`does not support publisher ${publisher}`)
    if (inputTypes.length) {
      const sources = lowerSet(info.StorageSources)
      const missing = inputTypes.filter((t) => !sources.has(t))
      if (missing.length === 0) rank += 10
      else reasons.push(`does not support input source ${missing.join(', ')}`)
    } else rank += 10
    if (hard.length) {
      const failed = hard.filter((c) => !requirementMatches(c, labels))
      if (failed.length === 0) rank += 10
      else
        reasons.push(
          `does not match constraints ${failed.map((c) => `${c.Key} ${c.Operator} ${(c.Values ?? []).join(',')}`).join('; ')}`,
        )
    }
    for (const c of soft) if (requirementMatches(c, labels)) rank += 10
    const max = info.MaxJobRequirements
    if (hasUsage) {
      const over: string[] = []
      if ((usage.CPU ?? 0) > (max.CPU ?? 0) + 1e-9) over.push(`CPU ${usage.CPU} > ${max.CPU ?? 0}`)
      if ((usage.Memory ?? 0) > (max.Memory ?? 0)) over.push(`memory ${usage.Memory} > ${max.Memory ?? 0}`)
      if ((usage.Disk ?? 0) > (max.Disk ?? 0)) over.push(`disk ${usage.Disk} > ${max.Disk ?? 0}`)
      if ((usage.GPU ?? 0) > (max.GPU ?? 0)) over.push(`GPU ${usage.GPU} > ${max.GPU ?? 0}`)
      if (over.length) reasons.push(`job requires more resources than the node allows: ${over.join(', ')}`)
      else rank += 10
    }
    const mine = byNode.get(node.NodeID)
    if (!mine) rank += 30
    else if (
      mine.length > 1 ||
      mine.some(
        (e) =>
          !isDiscardedExecutionState(e.ComputeState.StateType) ||
          e.ComputeState.StateType === ExecutionStateType.BidRejected ||
          e.ComputeState.StateType === ExecutionStateType.AskForBidRejected,
      )
    )
      reasons.push('has already been tried for this job')
    const maxCpu = max.CPU ?? 0
    const free = maxCpu > 0 ? (info.AvailableCapacity.CPU ?? 0) / maxCpu : 0
    rank += Math.round(Math.min(1, Math.max(0, free)) * 80) + Math.floor(Math.random() * 5)
    if (reasons.length) unsuitable.push({ node, rank: -1, reasons })
    else suitable.push({ node, rank, reasons })
  }
  return {
    suitable,
    unsuitable,
    total: nodes.length,
    best(k: number) {
      if (k >= suitable.length) return [...suitable].sort((a, b) => b.rank - a.rank)
      // Partial selection: one pass keeping the k best, cheaper than sorting them all.
      const top: RankedNode[] = []
      for (const r of suitable) {
        if (top.length < k) {
          top.push(r)
          if (top.length === k) top.sort((a, b) => b.rank - a.rank)
        } else if (r.rank > top[k - 1].rank) {
          let i = k - 1
          while (i > 0 && top[i - 1].rank < r.rank) i--
          top.splice(i, 0, r)
          top.pop()
        }
      }
      return top.length === k ? top : top.sort((a, b) => b.rank - a.rank)
    },
  }
}
