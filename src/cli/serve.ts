// `bacalhau serve`: runs a node in this process until SIGINT/SIGTERM
// (bacalhau-behaviour.md §1.11).
import fs from 'node:fs'
import path from 'node:path'
import { Option, type Command } from 'commander'
import { startNode } from '../node/start.js'
import { createLogger } from '../util/logger.js'
import { CliContext } from './context.js'
import { CliError } from './errors.js'

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Start a node (orchestrator and/or compute)')
    .option('--orchestrator', 'run the orchestrator role')
    .addOption(new Option('--no-orchestrator').hideHelp())
    .option('--compute', 'run the compute role')
    .addOption(new Option('--no-compute').hideHelp())
    .option('--name <name>', 'node name (used on first start only)')
    .action(async (o: { orchestrator?: boolean; compute?: boolean; name?: string }, cmd: Command) => {
      const ctx = new CliContext(cmd, { orchestrator: o.orchestrator, compute: o.compute })
      const config = ctx.config
      if (!config.Orchestrator.Enabled && !config.Compute.Enabled) {
        ctx.warn('neither --compute nor --orchestrator were provided, defaulting to orchestrator node.')
        config.Orchestrator.Enabled = true
      }
      const logger = createLogger({ level: config.Logging.Level, json: config.Logging.Mode === 'json' })
      let node: Awaited<ReturnType<typeof startNode>>
      try {
        node = await startNode(config, { logger, name: o.name })
      } catch (e) {
        throw new CliError(`cannot start the node: ${(e as Error).message}`)
      }
      const url = new URL(node.apiUrl)
      const host = url.hostname === '0.0.0.0' ? '127.0.0.1' : url.hostname
      const runFile = process.env.DEVSTACK_ENV_FILE || path.join(config.DataDir, 'bacalhau.run')
      const exports = `export BACALHAU_API_HOST=${host}\nexport BACALHAU_API_PORT=${url.port}\n`
      try {
        fs.writeFileSync(runFile, exports)
      } catch (e) {
        logger.warn({ err: e, file: runFile }, 'cannot write the run-info file')
      }
      ctx.out(`API listening on ${node.apiUrl}\n`)
      ctx.out(
        `\nTo connect to this node from the client, run the following commands in your shell:\n${exports}\n`,
      )

      // A library's stray rejection must not take the node down: log it and keep serving.
      process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'))
      const signal = await new Promise<string>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'))
        process.once('SIGTERM', () => resolve('SIGTERM'))
      })
      logger.info({ signal }, 'shutting down')
      try {
        await node.stop()
      } finally {
        fs.rmSync(runFile, { force: true })
      }
    })
}
