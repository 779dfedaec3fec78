// `bacalhau node list|describe|approve|reject|delete` (bacalhau-behaviour.md §1.10).
import { Option, type Command } from 'commander'
import type { ResourcesUsage } from '../models/execution.js'
import type { NodeState } from '../models/node.js'
import { humanBytes } from '../models/resources.js'
import { addDocumentFlags, addOutputFlags, listOutput, type OutputFlagValues } from './common.js'
import { CliContext } from './context.js'
import { CliError } from './errors.js'
import { intArg, splitCommaValues } from './flags.js'
import { formatList, formatObject, shortId } from './output.js'

const showGroups = ['labels', 'capacity', 'version', 'features'] as const

const pair = (a: number | undefined, b: number | undefined, f: (n: number) => string) =>
  `${f(a ?? 0)} / ${f(b ?? 0)}`

/** Columns and cells of `node list` for the chosen --show groups. */
export function nodeTable(
  nodes: NodeState[],
  show: string[],
  wide: boolean,
): { columns: string[]; rows: string[][] } {
  const columns = ['ID', 'Type', 'Approval', 'Status']
  if (show.includes('labels')) columns.push('Labels')
  if (show.includes('capacity')) columns.push('CPU', 'Memory', 'Disk', 'GPU')
  if (show.includes('version')) columns.push('Version', 'Architecture', 'OS')
  if (show.includes('features')) columns.push('Engines', 'Inputs From', 'Outputs')
  const rows = nodes.map((n) => {
    const info = n.Info
    const isCompute = info?.NodeType === 'Compute'
    const c = info?.ComputeNodeInfo
    const avail: ResourcesUsage = c?.AvailableCapacity ?? {}
    const max: ResourcesUsage = c?.MaxCapacity ?? {}
    const row = [
      wide ? (info?.NodeID ?? '') : shortId(info?.NodeID),
      info?.NodeType ?? '',
      n.Membership ?? '',
      n.ConnectionState?.Status ?? n.Connection ?? '',
    ]
    if (show.includes('labels'))
      row.push(
        Object.entries(info?.Labels ?? {})
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
      )
    if (show.includes('capacity')) {
      if (isCompute)
        row.push(
          pair(avail.CPU, max.CPU, (x) => x.toFixed(1)),
          pair(avail.Memory, max.Memory, humanBytes),
          pair(avail.Disk, max.Disk, humanBytes),
          pair(avail.GPU, max.GPU, String),
        )
      else row.push('', '', '', '')
    }
    if (show.includes('version')) {
      const v = info?.BacalhauVersion
      row.push(v?.GitVersion ?? '', v?.GOARCH ?? '', v?.GOOS ?? '')
    }
    if (show.includes('features')) {
      if (isCompute)
        row.push(
          (c?.ExecutionEngines ?? []).join(' '),
          (c?.StorageSources ?? []).join(' '),
          (c?.Publishers ?? []).join(' '),
        )
      else row.push('', '', '')
    }
    return row
  })
  return { columns, rows }
}

export function registerNode(program: Command): void {
  const node = program.command('node').description('Commands to query and manage nodes')

  const list = node
    .command('list')
    .description('List the nodes of the cluster')
    .option('--show <groups>', `column groups to show: ${showGroups.join(', ')}`, 'labels,capacity')
    .option('--labels <selector>', 'filter nodes by label selector')
    .addOption(
      new Option('--filter-approval <state>', 'only nodes with this approval').choices([
        'approved',
        'pending',
        'rejected',
      ]),
    )
    .addOption(
      new Option('--filter-status <state>', 'only nodes with this status').choices([
        'connected',
        'disconnected',
      ]),
    )
    .option('--limit <n>', 'number of nodes to fetch', intArg({ min: 0 }))
    .addOption(
      new Option('--order-by <field>', 'sort field').choices([
        'id',
        'type',
        'available_cpu',
        'available_memory',
        'available_disk',
        'available_gpu',
        'status',
      ]),
    )
    .option('--order-reversed', 'reverse the order')
  addOutputFlags(list)
  list.action(
    async (
      o: OutputFlagValues & {
        show: string
        labels?: string
        filterApproval?: string
        filterStatus?: string
        limit?: number
        orderBy?: string
        orderReversed?: boolean
      },
      cmd: Command,
    ) => {
      const show = splitCommaValues([o.show]).map((s) => s.toLowerCase())
      for (const s of show)
        if (!(showGroups as readonly string[]).includes(s))
          throw new CliError(`invalid value "${s}" for --show: use ${showGroups.join(', ')}`)
      const ctx = new CliContext(cmd)
      const resp = await ctx.client().listNodes({
        limit: o.limit,
        orderBy: o.orderBy,
        reverse: o.orderReversed,
        labels: o.labels ? [o.labels] : undefined,
        filterApproval: o.filterApproval?.toUpperCase(),
        filterStatus: o.filterStatus?.toUpperCase(),
      })
      const nodes = resp.Nodes ?? []
      const t = nodeTable(nodes, show, !!o.wide)
      ctx.out(formatList(t.columns, t.rows, nodes, listOutput(o, ctx.stdoutIsTTY)))
    },
  )

  addDocumentFlags(
    node.command('describe').description('Show the state of a node').argument('<id>', 'node ID or prefix'),
    'yaml',
  ).action(async (id: string, o: { output?: 'json' | 'yaml'; pretty?: boolean }, cmd: Command) => {
    const ctx = new CliContext(cmd)
    const resp = await ctx.client().getNode(id)
    ctx.out(formatObject(resp.Node, o.output ?? 'yaml', o.pretty))
  })

  for (const action of ['approve', 'reject', 'delete'] as const) {
    node
      .command(action)
      .description(`${action[0].toUpperCase()}${action.slice(1)} a node`)
      .argument('<id>', 'node ID or prefix')
      .option('-m, --message <text>', 'reason (recorded by Bacalhau, ignored here)', '')
      .action(async (id: string, o: { message: string }, cmd: Command) => {
        const ctx = new CliContext(cmd)
        const resp = await ctx.client().nodeAction(id, action, o.message)
        if (resp && resp.Success === false) throw new CliError(resp.Error || `could not ${action} node ${id}`)
        ctx.out('Ok\n')
      })
  }
}
