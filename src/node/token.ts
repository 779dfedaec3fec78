// The network token that keeps strangers out: nodes derive their libp2p private-network
// key from it. An orchestrator without a configured token makes one on first start and
// keeps it in its data dir, so a network is closed by default.
import fs from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Config } from '../config/types.js'
import type { Logger } from '../util/logger.js'

export const TOKEN_FILE = 'network.token'

export function networkToken(config: Config, dataDir: string, log: Logger): string {
  if (config.Orchestrator.Auth.Token) return config.Orchestrator.Auth.Token
  const file = path.join(dataDir, TOKEN_FILE)
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim()
  const token = randomBytes(24).toString('base64url')
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 })
  log.info(
    { file },
    `generated a network token; compute nodes join with -c Compute.Auth.Token=<contents of ${file}>`,
  )
  return token
}
