// Errors the CLI reports as `Error: <message>` (+ `Hint: <hint>`) on stderr with exit
// code 1, never as a stack trace.

export class CliError extends Error {
  readonly hint?: string
  readonly exitCode: number
  constructor(message: string, opts: { hint?: string; exitCode?: number } = {}) {
    super(message)
    this.name = 'CliError'
    this.hint = opts.hint
    this.exitCode = opts.exitCode ?? 1
  }
}

/** Thrown to end a command with a given exit code after it printed its own output. */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`)
    this.name = 'ExitCode'
  }
}

/** `Error: ...` / `Hint: ...` lines for any thrown value. */
export function formatError(e: unknown): string {
  if (e instanceof Error) {
    const hint = (e as { hint?: unknown }).hint
    const lines = [`Error: ${e.message || e.name}`]
    if (typeof hint === 'string' && hint) lines.push(`Hint: ${hint}`)
    return lines.join('\n') + '\n'
  }
  return `Error: ${String(e)}\n`
}
