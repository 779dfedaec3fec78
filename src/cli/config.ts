// `bacalhau config list|get|set` (bacalhau-behaviour.md §1.11, §2).
import path from 'node:path'
import type { Command } from 'commander'
import { configKeys, findConfigKey, formatConfigValue, readPath, unknownKeyError } from '../config/keys.js'
import { getConfigValue, setConfigValue } from '../config/load.js'
import { addOutputFlags, listOutput, type OutputFlagValues } from './common.js'
import { CliContext } from './context.js'
import { CliError } from './errors.js'
import { formatList } from './output.js'

const isYamlFile = (v: string) => /\.ya?ml$/i.test(v) && !/^[A-Za-z][A-Za-z0-9_.]*=/.test(v)

export function registerConfig(program: Command): void {
  const config = program.command('config').description('Inspect and edit the configuration')

  const list = config.command('list').description('List every config key with its value and description')
  addOutputFlags(list)
  list.action(async (o: OutputFlagValues, cmd: Command) => {
    const ctx = new CliContext(cmd)
    const cfg = ctx.config
    if (o.output === 'json' || o.output === 'yaml') {
      ctx.out(formatList([], [], cfg, listOutput(o, ctx.stdoutIsTTY)))
      return
    }
    const keys = [...configKeys].sort((a, b) => a.key.localeCompare(b.key))
    const rows = keys.map((k) => [k.key, formatConfigValue(k, readPath(cfg, k.key)), k.description])
    ctx.out(formatList(['Key', 'Value', 'Description'], rows, cfg, listOutput(o, ctx.stdoutIsTTY)))
  })

  config
    .command('get')
    .description('Print the effective value of one config key')
    .argument('<key>', 'config key, e.g. API.Port (case-insensitive)')
    .action(async (key: string, _o: unknown, cmd: Command) => {
      const ctx = new CliContext(cmd)
      const k = findConfigKey(key)
      if (!k) throw new CliError(unknownKeyError(key).message)
      ctx.out(`${formatConfigValue(k, getConfigValue(ctx.config, k.key))}\n`)
    })

  config
    .command('set')
    .description('Write a key into the config file (-c FILE.yaml, else <DataDir>/config.yaml)')
    .argument('<key=value>', 'key and value, e.g. API.Port=1235')
    .argument('[values...]', 'deprecated form: KEY VALUE...')
    .action(async (first: string, rest: string[], _o: unknown, cmd: Command) => {
      const globals = cmd.optsWithGlobals() as { config?: string[] }
      const files = (globals.config ?? []).filter(isYamlFile)
      if (files.length > 1) throw new CliError('config set writes one file: give at most one -c FILE.yaml')
      let key: string
      let value: string
      if (rest.length > 0) {
        process.stderr.write('DEPRECATED: use `bacalhau config set KEY=VALUE` instead\n')
        key = first
        value = rest.join(',')
      } else {
        const eq = first.indexOf('=')
        if (eq <= 0) throw new CliError(`invalid argument "${first}": expected KEY=VALUE`)
        key = first.slice(0, eq)
        value = first.slice(eq + 1)
      }
      if (!findConfigKey(key)) throw new CliError(unknownKeyError(key).message)
      let target: string
      if (files.length === 1) target = path.resolve(files[0])
      else {
        // The target file need not exist yet, so load the rest of the config without it.
        const ctx = new CliContext(cmd)
        const loaded = ctx.loaded
        target =
          loaded.configFiles.length === 1
            ? loaded.configFiles[0]
            : path.join(loaded.config.DataDir, 'config.yaml')
      }
      try {
        setConfigValue(target, key, value)
      } catch (e) {
        throw new CliError((e as Error).message)
      }
      process.stdout.write(`Writing config to ${target}\n`)
    })
}
