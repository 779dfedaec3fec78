// Node ranking (bacalhau-behaviour.md §3.5): each ranker adds a score; any -1 makes the
// node unsuitable and keeps the reason for the "not enough nodes" message.
import { isDiscardedExecutionState, ExecutionStateType } from '../models/enums.js'
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

const has = (list: string[], name: string) => list.some((x) => x.toLowerCase() === name.toLowerCase())

export function rankNodes(job: Job, nodes: NodeInfo[], executions: Execution[]): RankedNode[] {
  const task = job.Tasks[0]
  let usage: ResourcesUsage = {}
  try {
    usage = parseResourcesConfig(task?.Resources)
  } catch {
    usage = {}
  }
  const hard = job.Constraints.filter((c) => !c.Key.startsWith('favour_'))
  const soft = job.Constraints.filter((c) => c.Key.startsWith('favour_'))
  const ranked = nodes.map((node): RankedNode => {
    const info = node.ComputeNodeInfo
    const reasons: string[] = []
    let rank = 0
    let unsuitable = false
    const reject = (why: string) => {
      unsuitable = true
      reasons.push(why)
    }
    const engine = task?.Engine?.Type ?? ''
    if (has(info.ExecutionEngines, engine)) rank += 10
    else reject(`does not support engine ${engine}`)
    const publisher = task?.Publisher?.Type ?? ''
    if (!publisher || has(info.Publishers, publisher)) rank += 10
    else reject(`does not support publisher ${publisher}`)
    const missing = (task?.InputSources ?? [])
      .map((s) => s.Source?.Type ?? '')
      .filter((t) => !has(info.StorageSources, t))
    if (missing.length === 0) rank += 10
    else reject(`does not support input source ${missing.join(', ')}`)
    if (hard.length) {
      const failed = hard.filter((c) => !requirementMatches(c, node.Labels ?? {}))
      if (failed.length === 0) rank += 10
      else
        reject(
          `does not match constraints ${failed.map((c) => `${c.Key} ${c.Operator} ${(c.Values ?? []).join(',')}`).join('; ')}`,
        )
    }
    for (const c of soft) {
      const key = c.Key.slice('favour_'.length)
      if (requirementMatches({ ...c, Key: key }, node.Labels ?? {})) rank += 10
    }
    const max = info.MaxJobRequirements
    const over: string[] = []
    if ((usage.CPU ?? 0) > (max.CPU ?? 0) + 1e-9) over.push(`CPU ${usage.CPU} > ${max.CPU ?? 0}`)
    if ((usage.Memory ?? 0) > (max.Memory ?? 0)) over.push(`memory ${usage.Memory} > ${max.Memory ?? 0}`)
    if ((usage.Disk ?? 0) > (max.Disk ?? 0)) over.push(`disk ${usage.Disk} > ${max.Disk ?? 0}`)
    if ((usage.GPU ?? 0) > (max.GPU ?? 0)) over.push(`GPU ${usage.GPU} > ${max.GPU ?? 0}`)
    if (over.length) reject(`job requires more resources than the node allows: ${over.join(', ')}`)
    else if (usage.CPU || usage.Memory || usage.Disk || usage.GPU) rank += 10

    // Previous executions of this job version on this node.
    const mine = executions.filter((e) => e.NodeID === node.NodeID && e.JobVersion === job.Version)
    if (mine.length === 0) rank += 30
    else if (
      mine.length > 1 ||
      mine.some(
        (e) =>
          !isDiscardedExecutionState(e.ComputeState.StateType) ||
          e.ComputeState.StateType === ExecutionStateType.BidRejected ||
          e.ComputeState.StateType === ExecutionStateType.AskForBidRejected,
      )
    )
      reject('has already been tried for this job')

    const avail = info.AvailableCapacity
    const free = (avail.CPU ?? 0) / Math.max(max.CPU ?? 1, 1e-9)
    rank += Math.round(Math.min(1, Math.max(0, free)) * 80)
    rank += Math.floor(Math.random() * 5)
    return { node, rank: unsuitable ? -1 : rank, reasons }
  })
  return ranked.sort((a, b) => b.rank - a.rank)
}
