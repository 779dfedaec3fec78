// Engine errors as people can read them. dockerode's Error.message carries a
// "(HTTP code 404) no such container - " prefix; the engine's own text sits in `json`.

interface ModemError {
  message?: string
  statusCode?: number
  json?: unknown
  reason?: string
}

export function statusCodeOf(err: unknown): number | undefined {
  const code = (err as ModemError | undefined)?.statusCode
  return typeof code === 'number' ? code : undefined
}

export function engineMessage(err: unknown): string {
  const e = (err ?? {}) as ModemError
  let json: unknown = e.json
  if (typeof json === 'string') {
    const text = json
    try {
      json = JSON.parse(text)
    } catch {
      if (text.trim()) return text.trim()
    }
  }
  if (json && typeof json === 'object') {
    const msg = (json as { message?: unknown }).message
    if (typeof msg === 'string' && msg.trim()) return msg.trim()
  }
  if (err instanceof Error || typeof e.message === 'string') {
    return (e.message ?? String(err)).replace(/^\(HTTP code \d+\) [^-]*- /, '').trim()
  }
  return String(err)
}

/** Bacalhau's start-failure text; a missing program gets the short runc cause and a hint. */
export function startFailure(err: unknown, image: string): string {
  const msg = engineMessage(err)
  // runc wraps the cause in several layers ("failed to create shim task: OCI runtime create
  // failed: runc create failed: unable to start container process: exec: ...: unknown").
  const cause =
    /exec: .*?(executable file not found in \$PATH|no such file or directory|permission denied)/.exec(msg)
  if (cause) {
    return `failed to start container: ${cause[0]} (check Entrypoint/Parameters: the program must exist in image ${image})`
  }
  return `failed to start container: ${msg}`
}
