// `bacalhau devstack`: a local cluster of separate node processes, until Ctrl-C
// (bacalhau-behaviour.md §6; the seed's default of 1 orchestrator + 2 compute nodes).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Option, type Command } from 'commander'
import { devstackBanner, startDevstack } from '../devstack/launcher.js'
import { CliError } from './errors.js'
import { intArg } from './flags.js'

interface DevstackFlags {
  orchestrators: number
  computes: number
  hybrids: number
  badComputes: number
  stackRepo?: string
  randomPorts?: boolean
}

export function registerDevstack(program: Command): void {
  program
    .command('devstack')
    .description('Start a local cluster of separate node processes (1 orchestrator + 2 compute by default)')
    .addOption(
      new Option('--orchestrators <n>', 'orchestrator-only nodes').argParser(intArg({ min: 0 })).default(1),
    )
    .addOption(new Option('--requester-nodes <n>').argParser(intArg({ min: 0 })).hideHelp())
    .addOption(new Option('--computes <n>', 'compute-only nodes').argParser(intArg({ min: 0 })).default(2))
    .addOption(new Option('--compute-nodes <n>').argParser(intArg({ min: 0 })).hideHelp())
    .addOption(
      new Option('--hybrids <n>', 'orchestrator + compute nodes').argParser(intArg({ min: 0 })).default(0),
    )
    .addOption(new Option('--hybrid-nodes <n>').argParser(intArg({ min: 0 })).hideHelp())
    .addOption(
      new Option('--bad-computes <n>', 'compute nodes that fail every execution (not supported)')
        .argParser(intArg({ min: 0 }))
        .default(0),
    )
    .addOption(new Option('--bad-compute-actors <n>').argParser(intArg({ min: 0 })).hideHelp())
    .option('--stack-repo <dir>', 'folder for the nodes’ data dirs (default: a new temp folder)')
    .option('--random-ports', 'use free ports (the default unless PREDICTABLE_API_PORT is set)')
    .action(async (o: DevstackFlags & Record<string, unknown>, cmd: Command) => {
      const pick = (a: string, legacy: string) =>
        cmd.getOptionValueSource(legacy) === 'cli' ? (o[legacy] as number) : (o[a] as number)
      const orchestrators = pick('orchestrators', 'requesterNodes')
      const computes = pick('computes', 'computeNodes')
      const hybrids = pick('hybrids', 'hybridNodes')
      if (pick('badComputes', 'badComputeActors') > 0)
        throw new CliError('--bad-computes is not supported by this devstack')
      const predictable = !o.randomPorts && /^(1|true|yes)$/i.test(process.env.PREDICTABLE_API_PORT ?? '')
      const tmp = os.tmpdir()
      const portFile = path.join(tmp, 'bacalhau-devstack.port')
      const pidFile = path.join(tmp, 'bacalhau-devstack.pid')
      if (!process.env.IGNORE_PID_AND_PORT_FILES && (fs.existsSync(portFile) || fs.existsSync(pidFile)))
        throw new CliError(
          `a devstack seems to be running already (${pidFile} exists); stop it or set IGNORE_PID_AND_PORT_FILES=1`,
        )
      const globalConfig = (cmd.optsWithGlobals().config as string[] | undefined) ?? []
      const opts = {
        orchestrators,
        computes,
        hybrids,
        stackRepo: o.stackRepo,
        predictablePorts: predictable,
        config: globalConfig,
      }
      let stack
      try {
        stack = await startDevstack(opts)
      } catch (e) {
        throw new CliError(`devstack failed to start: ${(e as Error).message}`)
      }
      fs.writeFileSync(portFile, String(stack.apiPort))
      fs.writeFileSync(pidFile, String(process.pid))
      process.stdout.write(devstackBanner(opts, stack))
      const signal = await new Promise<string>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'))
        process.once('SIGTERM', () => resolve('SIGTERM'))
        for (const n of stack.nodes)
          n.process.once('exit', (code) => {
            if (code !== 0)
              process.stderr.write(`Error: ${n.name} exited with code ${code}; see ${n.logFile}\n`)
            resolve('node-exit')
          })
      })
      process.stdout.write('Shutting down devstack\n')
      try {
        await stack.stop()
      } finally {
        fs.rmSync(portFile, { force: true })
        fs.rmSync(pidFile, { force: true })
      }
      if (signal === 'node-exit') throw new CliError('a devstack node stopped unexpectedly')
    })
}
