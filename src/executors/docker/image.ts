// Makes an image available locally: the local copy when it suits this host's platform,
// otherwise a pull for that platform. Concurrent executions of one image share a pull.
import type Docker from 'dockerode'
import type { Logger } from '../../util/logger.js'
import { engineMessage, statusCodeOf } from './errors.js'

/** `busybox` → `busybox:latest`; tagged or digest references are kept as given. */
export function normalizeImageRef(ref: string): string {
  const r = ref.trim()
  if (r.includes('@')) return r
  const lastSegment = r.slice(r.lastIndexOf('/') + 1)
  return lastSegment.includes(':') ? r : `${r}:latest`
}

export interface Platform {
  os: string
  arch: string
}

export const formatPlatform = (p: Platform): string => `${p.os}/${p.arch}`

export function platformMatches(image: { Os?: string; Architecture?: string }, host: Platform): boolean {
  // An image without platform metadata (old `docker import`s) runs wherever the engine put it.
  if (!image.Os || !image.Architecture) return true
  return image.Os === host.os && image.Architecture === host.arch
}

interface ProgressEvent {
  error?: string
  errorDetail?: { message?: string }
}

/** The first error a pull/push progress stream reported (the HTTP call itself succeeds). */
export function progressError(events: ProgressEvent[] | undefined): string | undefined {
  for (const ev of events ?? []) {
    const msg = ev.errorDetail?.message || ev.error
    if (msg) return msg
  }
  return undefined
}

export interface ImageManagerOptions {
  skipPull: boolean
  pullTimeoutMs: number
  /** Registry credentials for pulls (DOCKER_USERNAME / DOCKER_PASSWORD). */
  auth?: { username: string; password: string }
}

/** Formats a Go-like short duration for messages ("90s", "5m0s"). */
function shortDuration(ms: number): string {
  const s = Math.round(ms / 1000)
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60}s`
}

function registryOf(ref: string): string {
  const first = ref.split('/')[0]
  const isHost = ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
  return isHost ? first : 'https://index.docker.io/v1/'
}

export class ImageManager {
  private platform: Promise<Platform> | undefined
  private readonly pulls = new Map<string, Promise<void>>()

  constructor(
    private readonly docker: Docker,
    private readonly log: Logger,
    private readonly opts: ImageManagerOptions,
  ) {}

  hostPlatform(): Promise<Platform> {
    if (!this.platform) {
      const p = this.docker.version().then((v) => ({ os: v.Os, arch: v.Arch }))
      // A failed lookup is retried next time rather than remembered.
      p.catch(() => {
        if (this.platform === p) this.platform = undefined
      })
      this.platform = p
    }
    return this.platform
  }

  private async inspectLocal(ref: string): Promise<Docker.ImageInspectInfo | undefined> {
    try {
      return await this.docker.getImage(ref).inspect()
    } catch (err) {
      if (statusCodeOf(err) === 404) return undefined
      throw new Error(`failed to inspect image ${ref}: ${engineMessage(err)}`)
    }
  }

  /** Resolves once `ref` (normalised) can be used to create a container; rejects with a clear reason. */
  async ensure(ref: string): Promise<void> {
    const host = await this.hostPlatform().catch((err: unknown) => {
      throw new Error(`cannot reach the docker engine: ${engineMessage(err)}`)
    })
    const local = await this.inspectLocal(ref)
    if (local && platformMatches(local, host)) return
    const mismatch = (img: Docker.ImageInspectInfo): string =>
      `image ${ref} is built for ${img.Os}/${img.Architecture}, but this node runs ${formatPlatform(host)}`
    if (this.opts.skipPull) {
      if (local) throw new Error(`${mismatch(local)} (image pulls are disabled by SKIP_IMAGE_PULL)`)
      throw new Error(`image ${ref} is not available locally and image pulls are disabled (SKIP_IMAGE_PULL)`)
    }
    let pull = this.pulls.get(ref)
    if (!pull) {
      pull = this.pull(ref, host).finally(() => this.pulls.delete(ref))
      this.pulls.set(ref, pull)
    }
    await pull
    const after = await this.inspectLocal(ref)
    if (!after)
      throw new Error(`failed to pull image ${ref}: the engine reported success but the image is missing`)
    if (!platformMatches(after, host)) throw new Error(mismatch(after))
  }

  private async pull(ref: string, host: Platform): Promise<void> {
    const started = Date.now()
    const timeout = AbortSignal.timeout(this.opts.pullTimeoutMs)
    const opts: Record<string, unknown> = { platform: formatPlatform(host), abortSignal: timeout }
    // The engine wants an X-Registry-Auth header on some versions even for anonymous
    // registries; an empty config naming the registry is accepted everywhere.
    opts.authconfig = this.opts.auth
      ? { ...this.opts.auth, serveraddress: registryOf(ref) }
      : { serveraddress: registryOf(ref) }
    this.log.info({ image: ref }, 'pulling image')
    try {
      const stream = await this.docker.pull(ref, opts)
      const events = await new Promise<ProgressEvent[]>((resolve, reject) => {
        this.docker.modem.followProgress(stream, (err: Error | null, out: ProgressEvent[]) =>
          err ? reject(err) : resolve(out),
        )
      })
      const failed = progressError(events)
      if (failed) throw new Error(failed)
    } catch (err) {
      const msg = timeout.aborted
        ? `timed out after ${shortDuration(this.opts.pullTimeoutMs)}`
        : err instanceof Error && statusCodeOf(err) === undefined
          ? err.message
          : engineMessage(err)
      throw new Error(`failed to pull image ${ref}: ${msg}`)
    }
    this.log.info({ image: ref, ms: Date.now() - started }, 'pulled image')
  }
}
