// The `noop` publisher: nothing leaves the node; the execution records an empty result type,
// which the /results endpoint later drops (bacalhau-api.md §5.4).
import type { SpecConfig } from '../../models/job.js'
import type { Publisher, PublishRequest } from '../types.js'

export class NoopPublisher implements Publisher {
  readonly name = 'noop'

  async isInstalled(): Promise<boolean> {
    return true
  }

  async publish(_request: PublishRequest, signal: AbortSignal): Promise<SpecConfig> {
    signal.throwIfAborted()
    return { Type: '' }
  }
}
