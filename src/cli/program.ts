// The `bacalhau` command tree (commander 14) and its error/exit handling: errors are
// one `Error: ...` line (+ `Hint: ...`) on stderr with exit code 1, never a stack trace.
import { Command, CommanderError, type Option } from 'commander'
import { registerAgent } from './agent.js'
import { registerConfig } from './config.js'
import { registerData } from './data.js'
import { registerDevstack } from './devstack.js'
import { registerDocker } from './docker.js'
import { ExitCode, formatError } from './errors.js'
import { collect, intArg, normalizeBoolFlags } from './flags.js'
import { registerJob } from './job.js'
import { registerNode } from './node.js'
import { registerServe } from './serve.js'
import { registerVersion } from './version.js'
import { registerWasm } from './wasm.js'

export function buildProgram(): Command {
  const program = new Command('bacalhau')
    .description('Compute over data: run jobs where the data is (Bacalhau-compatible)')
    .option('--api-host <host>', 'host of the API to talk to (or an http(s):// URL); env BACALHAU_API_HOST')
    .option('--api-port <port>', 'port of the API; env BACALHAU_API_PORT', intArg({ min: 0, max: 65535 }))
    .option('--data-dir <dir>', 'data directory (default ~/.bacalhau); env BACALHAU_DIR')
    .option('-c, --config <value>', 'config file (.yaml), Key=value, or a boolean Key (repeatable)', collect)
    .option('--log-level <level>', 'log level (prefer -c Logging.Level=...); env LOG_LEVEL')
    .exitOverride()
    .configureOutput({
      outputError: (str, write) => write(str.replace(/^error: /, 'Error: ')),
    })
    .showSuggestionAfterError(true)
  registerServe(program)
  registerData(program)
  registerDevstack(program)
  registerDocker(program)
  registerWasm(program)
  registerJob(program)
  registerNode(program)
  registerAgent(program)
  registerConfig(program)
  registerVersion(program)
  return program
}

/** Long names of every boolean flag in the tree (for `--flag=false` rewriting). */
export function booleanFlagNames(program: Command): Set<string> {
  const names = new Set<string>()
  const visit = (cmd: Command) => {
    for (const opt of cmd.options as readonly Option[]) {
      if (opt.required || opt.optional || !opt.long) continue
      names.add(opt.long.replace(/^--/, ''))
    }
    for (const sub of cmd.commands) visit(sub)
  }
  visit(program)
  return names
}

function wantsStack(argv: string[]): boolean {
  const level = (process.env.LOG_LEVEL ?? '').toLowerCase()
  return (
    level === 'debug' || level === 'trace' || argv.some((a) => /^--log-level(=| )?(debug|trace)$/.test(a))
  )
}

/** Runs the CLI; resolves with the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram()
  if (argv.length === 0) {
    process.stdout.write(program.helpInformation())
    return 0
  }
  try {
    const args = normalizeBoolFlags(argv, booleanFlagNames(program))
    await program.parseAsync(args, { from: 'user' })
    return 0
  } catch (e) {
    if (e instanceof ExitCode) return e.code
    if (e instanceof CommanderError) return e.exitCode
    process.stderr.write(formatError(e))
    if (wantsStack(argv) && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`)
    return 1
  }
}
