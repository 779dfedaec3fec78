#!/usr/bin/env node
// Process entry for a node: node dist/node.js --role hybrid|orchestrator|compute [flags].
import './polyfills.js'
import { Command, Option } from 'commander'
import { loadConfig } from './config/load.js'
import { startNode } from './node/start.js'
import { createLogger } from './util/logger.js'

const program = new Command('node')
  .description('Run a Bacalhau-compatible node')
  .addOption(
    new Option('--role <role>', 'node role').choices(['hybrid', 'orchestrator', 'compute']).default('hybrid'),
  )
  .option('--api-host <host>', 'REST API listen host')
  .option('--api-port <port>', 'REST API listen port (0 picks a free port)')
  .option('--data-dir <dir>', 'data directory (default ~/.bacalhau, or $BACALHAU_DIR)')
  .option('--name <name>', 'node name, used on first start only')
  .option(
    '-c, --config <value>',
    'config file or Key=value (repeatable)',
    (v: string, acc: string[]) => [...acc, v],
    [] as string[],
  )
  .showHelpAfterError()

program.parse()
const o = program.opts<{
  role: string
  apiHost?: string
  apiPort?: string
  dataDir?: string
  name?: string
  config: string[]
}>()

async function main(): Promise<void> {
  if (o.apiPort !== undefined && !/^\d+$/.test(o.apiPort))
    throw new Error(`--api-port: invalid port "${o.apiPort}"`)
  const { config } = loadConfig({
    configFlags: o.config,
    flags: {
      dataDir: o.dataDir,
      apiHost: o.apiHost,
      apiPort: o.apiPort === undefined ? undefined : Number(o.apiPort),
      orchestrator: o.role === 'hybrid' || o.role === 'orchestrator',
      compute: o.role === 'hybrid' || o.role === 'compute',
    },
  })
  const logger = createLogger({ level: config.Logging.Level })
  const node = await startNode(config, { logger, name: o.name })
  process.stdout.write(`API listening on ${node.apiUrl}\n`)
  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    node
      .stop()
      .then(() => process.exit(0))
      .catch((err) => {
        logger.error({ err }, 'shutdown failed')
        process.exit(1)
      })
  }
  // A library's stray rejection (an aborted network request, say) must not take the node
  // down: log it and keep serving.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'))
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))
}

main().catch((err: Error) => {
  process.stderr.write(`Error: ${err.message}\n`)
  process.exit(1)
})
