// `bacalhau agent alive|version|node|config` (bacalhau-behaviour.md §1.11).
import type { Command } from 'commander'
import { addDocumentFlags } from './common.js'
import { CliContext } from './context.js'
import { formatObject } from './output.js'

interface DocFlags {
  output?: 'json' | 'yaml'
  pretty?: boolean
}

export function registerAgent(program: Command): void {
  const agent = program.command('agent').description('Query the node the client talks to')

  addDocumentFlags(agent.command('alive').description('Check that the node is alive'), 'yaml').action(
    async (o: DocFlags, cmd: Command) => {
      const ctx = new CliContext(cmd)
      ctx.out(formatObject(await ctx.client().alive(), o.output ?? 'yaml', o.pretty))
    },
  )

  addDocumentFlags(agent.command('version').description('Build information of the node')).action(
    async (o: DocFlags, cmd: Command) => {
      const ctx = new CliContext(cmd)
      const v = await ctx.client().agentVersion()
      if (o.output) ctx.out(formatObject(v, o.output, o.pretty))
      else ctx.out(`Bacalhau ${v.GitVersion}\nBuildDate ${v.BuildDate}\nGitCommit ${v.GitCommit}\n`)
    },
  )

  addDocumentFlags(agent.command('node').description('Node info of the node'), 'yaml').action(
    async (o: DocFlags, cmd: Command) => {
      const ctx = new CliContext(cmd)
      ctx.out(formatObject(await ctx.client().agentNode(), o.output ?? 'yaml', o.pretty))
    },
  )

  addDocumentFlags(
    agent.command('config').description('Effective configuration of the node (secrets masked)'),
    'yaml',
    true,
  ).action(async (o: DocFlags, cmd: Command) => {
    const ctx = new CliContext(cmd)
    const resp = await ctx.client().agentConfig()
    ctx.out(formatObject(resp?.config ?? resp, o.output ?? 'yaml', o.pretty))
  })
}
