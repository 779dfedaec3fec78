// Admission control (bacalhau-behaviour.md §3.8): every strategy is asked, and any "no"
// rejects the bid with all reasons joined. Networked jobs are refused unless the
// operator opted in (the seed's AcceptNetworkedJobs; RejectNetworkedJobs always wins).
import type { Config } from '../config/types.js'
import type { ResourcesUsage } from '../models/execution.js'
import type { Job } from '../models/job.js'
import { describeShortfall, fitsIn } from '../models/resources.js'
import type { Executor } from '../executors/types.js'
import type { PublisherRegistry } from '../publishers/registry.js'
import type { StorageRegistry } from '../storage/registry.js'

export interface BidContext {
  job: Job
  usage: ResourcesUsage
  maxCapacity: ResourcesUsage
  executors: Map<string, Executor>
  storage: StorageRegistry
  publishers: PublisherRegistry
  admission: Config['JobAdmissionControl']
  /** Every ipfs input's data is already in this node's blockstore (for Locality=local). */
  ipfsHeldLocally?: boolean
}

const NETWORKED = new Set(['Host', 'Full', 'HTTP', 'Bridge'])

/** Returns undefined to bid, or the rejection reason. */
export function bid(ctx: BidContext): string | undefined {
  const reasons: string[] = []
  const task = ctx.job.Tasks[0]
  if (!task) return 'rejected bid: job has no task'
  const network = task.Network?.Type ?? 'Default'
  if (NETWORKED.has(network)) {
    if (ctx.admission.RejectNetworkedJobs || !ctx.admission.AcceptNetworkedJobs)
      reasons.push(`this node does not accept networked jobs (network type ${network})`)
  }
  if (ctx.admission.RejectStatelessJobs && (task.InputSources?.length ?? 0) === 0)
    reasons.push('this node does not accept jobs without any input volumes')
  const engineName = task.Engine?.Type.toLowerCase() ?? ''
  const executor = ctx.executors.get(engineName)
  if (!executor) reasons.push(`this node does not support the ${engineName} engine`)
  else {
    const why = executor.validate?.(task.Engine!)
    if (why) reasons.push(why)
  }
  const publisherType = task.Publisher?.Type ?? ''
  if (publisherType) {
    const publisher = ctx.publishers.get(publisherType)
    if (!publisher) reasons.push(`this node does not support the ${publisherType} publisher`)
    else {
      const why = publisher.validate?.(task.Publisher!)
      if (why) reasons.push(why)
    }
  }
  for (const input of task.InputSources ?? []) {
    const type = input.Source?.Type ?? ''
    const provider = ctx.storage.get(type)
    if (!provider) reasons.push(`this node does not support the ${type} input source`)
    else {
      const why = provider.validate?.(input)
      if (why) reasons.push(why)
    }
  }
  if (ctx.admission.Locality === 'local') {
    const local = ['local', 'localdirectory', 'inline', ...(ctx.ipfsHeldLocally ? ['ipfs'] : [])]
    const remote = (task.InputSources ?? []).filter(
      (i) => !local.includes((i.Source?.Type ?? '').toLowerCase()),
    )
    if (remote.length) reasons.push('this node only accepts jobs whose inputs are already local')
  }
  if (!fitsIn(ctx.usage, ctx.maxCapacity))
    reasons.push(`insufficient resources - ${describeShortfall(ctx.usage, ctx.maxCapacity)}`)
  return reasons.length
    ? reasons.map((r) => (r.startsWith('rejected bid') ? r : `rejected bid: ${r}`)).join('; ')
    : undefined
}
