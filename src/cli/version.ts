// `bacalhau version`: client and server versions; the server gets 3 s to answer.
import type { Command } from 'commander'
import type { BuildVersionInfo } from '../models/node.js'
import { buildVersionInfo } from '../models/version.js'
import { addOutputFlags, listOutput, type OutputFlagValues } from './common.js'
import { CliContext } from './context.js'
import { formatList } from './output.js'

export const SERVER_VERSION_TIMEOUT_MS = 3000

export function registerVersion(program: Command): void {
  const version = program
    .command('version')
    .description('Show the client and server versions')
    .option('--client', 'show only the client version')
  addOutputFlags(version)
  version.action(async (o: OutputFlagValues & { client?: boolean }, cmd: Command) => {
    const ctx = new CliContext(cmd)
    const client = buildVersionInfo()
    let server: BuildVersionInfo | undefined
    if (!o.client) {
      try {
        server = await ctx.client(SERVER_VERSION_TIMEOUT_MS).agentVersion()
      } catch {
        // Like Bacalhau: an unreachable server leaves the client column alone.
      }
    }
    const columns = server ? ['Client', 'Server'] : ['Client']
    const row = server ? [client.GitVersion, server.GitVersion] : [client.GitVersion]
    const doc: Record<string, BuildVersionInfo> = { clientVersion: client }
    if (server) doc.serverVersion = server
    ctx.out(formatList(columns, [row], doc, listOutput(o, ctx.stdoutIsTTY)))
  })
}
