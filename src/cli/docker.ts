// `bacalhau docker run [flags] IMAGE[:TAG|@DIGEST] [COMMAND] [ARG...]` (bacalhau-behaviour.md §1.7).
import path from 'node:path'
import type { Command } from 'commander'
import type { SpecConfig } from '../models/job.js'
import { CliContext } from './context.js'
import { CliError } from './errors.js'
import { collect, splitCommaValues } from './flags.js'
import {
  addJobFlags,
  addRunTimeFlags,
  addTaskFlags,
  buildJob,
  type JobFlagValues,
  type RunTimeFlagValues,
} from './jobflags.js'
import { submitBuiltJob } from './progress.js'

const USAGE = 'bacalhau docker run [flags] IMAGE[:TAG|@DIGEST] [COMMAND] [ARG...]'

export interface DockerFlagValues {
  workdir?: string
  entrypoint?: string[]
}

/** The docker engine spec (bacalhau-api.md §5.1) for an image and its COMMAND/ARGS. */
export function dockerEngineSpec(
  image: string | undefined,
  args: readonly string[] | undefined,
  o: DockerFlagValues,
): SpecConfig {
  if (image === undefined)
    throw new CliError('missing IMAGE: docker run needs the image to run', { hint: `usage: ${USAGE}` })
  if (!image.trim()) throw new CliError('IMAGE must not be empty', { hint: `usage: ${USAGE}` })
  // Usually a quoting slip (`"busybox echo"`); the node would only reject it at run time.
  if (/\s/.test(image))
    throw new CliError(`invalid IMAGE "${image}": an image reference has no spaces`, {
      hint: `usage: ${USAGE}`,
    })
  const params: Record<string, unknown> = { Image: image }
  // Only an explicit --entrypoint may reach the engine: Docker tells an absent entrypoint
  // (keep the image's) from an empty one (clear it), and `--entrypoint ''` means the latter.
  if (o.entrypoint !== undefined) params.Entrypoint = splitCommaValues(o.entrypoint)
  // Commander already drops the `--` that ends option parsing, so a leading one here is
  // the user's own (`IMAGE -- -- x`), and cobra would pass it on too.
  params.Parameters = [...(args ?? [])]
  if (o.workdir !== undefined && o.workdir !== '') {
    // The compute node would only find this out after the job was scheduled.
    if (!path.posix.isAbsolute(o.workdir))
      throw new CliError(`invalid value "${o.workdir}" for --workdir: must be an absolute path, e.g. /work`)
    params.WorkingDirectory = o.workdir
  }
  // Since v1.7, -e sets Task.Env; engine-level variables come only from a job spec file.
  params.EnvironmentVariables = []
  return { Type: 'docker', Params: params }
}

/** The job `docker run` submits: the shared job/task flags around a docker engine. */
export function buildDockerJob(
  image: string | undefined,
  args: readonly string[] | undefined,
  o: JobFlagValues & DockerFlagValues,
): Record<string, unknown> {
  return buildJob(o, dockerEngineSpec(image, args, o))
}

export function registerDocker(program: Command): void {
  const docker = program.command('docker').description('Run Docker jobs')
  const run = docker
    .command('run')
    .description('Run a Docker container as a job')
    .usage('[flags] IMAGE[:TAG|@DIGEST] [COMMAND] [ARG...]')
    // Optional so that a missing image gets our message and hint, not commander's.
    .argument('[image]', 'image to run, used as given (Docker reads a missing tag as :latest)')
    .argument('[command...]', 'command and arguments for the container (use -- before ones starting with -)')
    .option('-w, --workdir <dir>', 'working directory inside the container (absolute; default: the image’s)')
    .option(
      '--entrypoint <cmd>',
      'replace the image ENTRYPOINT (repeatable, comma lists); COMMAND/ARGS become its arguments',
      collect,
    )
  addJobFlags(run)
  addTaskFlags(run)
  addRunTimeFlags(run)
  run.addHelpText(
    'after',
    `
Examples:
  bacalhau docker run busybox:1.37.0 -- echo hello
  bacalhau docker run --entrypoint /bin/sh ubuntu -- -c 'ls -la /inputs'
  bacalhau docker run -i file:///data:/inputs -o outputs:/outputs -p local ubuntu -- cp -r /inputs /outputs
`,
  )

  // Flags are read anywhere on the line, as cobra does, so `IMAGE ls --all` fails on
  // `--all`: when such an option follows the image, point at the `--` that passes it on.
  const inherited = run.configureOutput().outputError
  run.configureOutput({
    outputError: (str, write) => {
      const m = /^error: unknown option '([^']*)'/.exec(str)
      const afterImage = m !== null && run.args.indexOf(m[1]) > 0
      const text = afterImage
        ? `${str}Hint: put -- before the container's arguments, e.g. bacalhau docker run IMAGE -- ls -la\n`
        : str
      if (inherited) inherited(text, write)
      else write(text)
    },
  })

  run.action(
    async (
      image: string | undefined,
      args: string[],
      opts: JobFlagValues & RunTimeFlagValues & DockerFlagValues,
      cmd: Command,
    ) => {
      const ctx = new CliContext(cmd)
      await submitBuiltJob(ctx, buildDockerJob(image, args, opts), opts)
    },
  )
}
