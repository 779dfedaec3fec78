// The IPFS publisher: the results folder is added to the node's embedded Helia and the
// root CID returned; peers fetch it over bitswap.
import type { Helia } from 'helia'
import type { SpecConfig } from '../../models/job.js'
import { addPath } from '../../ipfs/files.js'
import type { Publisher, PublishRequest } from '../types.js'

export class IpfsPublisher implements Publisher {
  readonly name = 'ipfs'

  constructor(private readonly helia: Helia) {}

  async isInstalled(): Promise<boolean> {
    return true
  }

  async publish(req: PublishRequest): Promise<SpecConfig> {
    const cid = await addPath(this.helia, req.resultsDir)
    return { Type: 'ipfs', Params: { CID: cid.toString() } }
  }
}
