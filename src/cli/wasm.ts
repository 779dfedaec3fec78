// `bacalhau wasm run ENTRY-MODULE [ARG...]` (bacalhau-behaviour.md §1.8).
import fs from 'node:fs'
import { Command } from 'commander'
import type { InputSource } from '../models/job.js'
import { CliContext } from './context.js'
import { CliError } from './errors.js'
import { collect, hasStorageScheme, parseInputSource, splitCommaValues } from './flags.js'
import { inlineDataUrl } from './inline.js'
import {
  addJobFlags,
  addRunTimeFlags,
  addTaskFlags,
  buildJob,
  type JobFlagValues,
  type RunTimeFlagValues,
} from './jobflags.js'
import { submitBuiltJob } from './progress.js'

export const DEFAULT_ENTRY_TARGET = 'main.wasm'

export interface ResolvedModule {
  /** Path of the module in the task filesystem. */
  path: string
  /** The input that brings it in, when it is not already mounted by -i. */
  input?: InputSource
}

const isFile = (p: string) => {
  try {
    return fs.statSync(p).isFile()
  } catch {
    return false
  }
}

function mountedBy(p: string, inputs: InputSource[]): boolean {
  const norm = (t: string) => t.replace(/^\/+/, '').replace(/\/+$/, '')
  const target = norm(p)
  return inputs.some((i) => {
    const t = norm(i.Target)
    return t === target || target.startsWith(t + '/')
  })
}

/**
 * Resolves an entry or import module argument: a storage URI (the -i grammar), a local
 * file `path[:target]` embedded inline, or the path of a module some -i input mounts.
 */
export async function resolveModule(
  arg: string,
  opts: { defaultTarget?: string; inputs: InputSource[]; what: string },
): Promise<ResolvedModule> {
  if (hasStorageScheme(arg)) {
    let input: InputSource
    try {
      input = parseInputSource(arg, opts.defaultTarget ?? '')
    } catch (e) {
      throw new CliError(`${opts.what}: ${(e as Error).message}`)
    }
    if (!input.Target)
      throw new CliError(`${opts.what} "${arg}": give the target path, e.g. ${arg}:/modules/lib.wasm`)
    return { path: input.Target, input }
  }
  let file: string | undefined
  let target: string | undefined
  if (isFile(arg)) file = arg
  else {
    const colon = arg.lastIndexOf(':')
    if (colon > 0 && isFile(arg.slice(0, colon))) {
      file = arg.slice(0, colon)
      target = arg.slice(colon + 1)
    }
  }
  if (file) {
    target = target || opts.defaultTarget
    if (!target)
      throw new CliError(
        `${opts.what} "${arg}": a local module needs a target path, e.g. ${arg}:/modules/lib.wasm`,
      )
    const data = await inlineDataUrl(file)
    return {
      path: target,
      input: { Source: { Type: 'inline', Params: { URL: data.url } }, Alias: '', Target: target },
    }
  }
  if (mountedBy(arg, opts.inputs)) return { path: arg }
  throw new CliError(`${opts.what} "${arg}" not found: no such local file, and no --input mounts that path`)
}

export function registerWasm(program: Command): void {
  const wasm = program.command('wasm').description('Run and prepare WebAssembly jobs')
  const run = wasm
    .command('run')
    .description('Run a WebAssembly module as a job')
    .argument(
      '<entry-module>',
      'local .wasm file ([path:target]), storage URI, or path of a module mounted with -i',
    )
    .argument('[args...]', 'arguments passed to the module (use -- before ones starting with -)')
    .option('--entry-point <name>', 'exported function to call', '_start')
    .option(
      '-I, --import-modules <module>',
      'import modules: paths of modules mounted with -i, or path:target / URI:target (repeatable)',
      collect,
    )
  addJobFlags(run)
  addTaskFlags(run)
  addRunTimeFlags(run)
  run.action(
    async (
      entry: string,
      args: string[],
      opts: JobFlagValues & RunTimeFlagValues & { entryPoint: string; importModules?: string[] },
      cmd: Command,
    ) => {
      const ctx = new CliContext(cmd)
      const userInputs = (opts.input ?? []).flatMap((v) => {
        try {
          return [parseInputSource(v)]
        } catch (e) {
          throw new CliError(`--input: ${(e as Error).message}`)
        }
      })
      const moduleInputs: InputSource[] = []
      const entryModule = await resolveModule(entry, {
        defaultTarget: DEFAULT_ENTRY_TARGET,
        inputs: userInputs,
        what: 'entry module',
      })
      if (entryModule.input) moduleInputs.push(entryModule.input)
      const imports: string[] = []
      for (const m of splitCommaValues(opts.importModules)) {
        const r = await resolveModule(m, { inputs: [...userInputs, ...moduleInputs], what: 'import module' })
        if (r.input) moduleInputs.push(r.input)
        imports.push(r.path)
      }
      const job = buildJob(
        opts,
        {
          Type: 'wasm',
          Params: {
            EntryModule: entryModule.path,
            Entrypoint: opts.entryPoint,
            // Commander drops the `--` that ends option parsing; a second one is the user's.
            Parameters: args,
            ImportModules: imports,
          },
        },
        moduleInputs,
      )
      await submitBuiltJob(ctx, job, opts)
    },
  )
}
