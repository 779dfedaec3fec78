// `bacalhau data add PATH`: puts a file or folder into the IPFS node of the node the CLI
// talks to and prints its CID as the last line, ready for `-i ipfs://CID`.
import fs from 'node:fs'
import path from 'node:path'
import { Readable } from 'node:stream'
import type { Command } from 'commander'
import * as tar from 'tar'
import { CliContext } from './context.js'
import { CliError } from './errors.js'

export function registerData(program: Command): void {
  const data = program.command('data').description('Manage data in the network’s IPFS nodes')
  data
    .command('add')
    .description('Add a file or folder to the IPFS node of the node this CLI talks to; prints its CID')
    .argument('<path>', 'file or folder to add')
    .action(async (p: string, _o: unknown, cmd: Command) => {
      const ctx = new CliContext(cmd)
      const full = path.resolve(p)
      let st: fs.Stats
      try {
        st = fs.statSync(full)
      } catch {
        throw new CliError(`cannot add ${p}: no such file or folder`)
      }
      if (!st.isFile() && !st.isDirectory()) throw new CliError(`cannot add ${p}: not a file or folder`)
      const client = ctx.client()
      // tar's stream is a Minipass, not a stream.Readable: wrap it as one.
      const body = Readable.toWeb(
        Readable.from(tar.c({ cwd: path.dirname(full), portable: true }, [path.basename(full)])),
      )
      let res: Response
      try {
        res = await fetch(`${client.baseUrl}/api/v1/ipfs/add`, {
          method: 'PUT',
          headers: { 'content-type': 'application/x-tar' },
          body: body as unknown as RequestInit['body'],
          duplex: 'half',
        } as RequestInit)
      } catch (e) {
        throw new CliError(`cannot reach the Bacalhau API at ${client.baseUrl}: ${(e as Error).message}`)
      }
      const text = await res.text()
      let parsed: { CID?: string; Message?: string } = {}
      try {
        parsed = JSON.parse(text)
      } catch {
        /* reported below */
      }
      if (!res.ok || !parsed.CID)
        throw new CliError(`cannot add ${p}: ${parsed.Message ?? `HTTP ${res.status}`}`)
      ctx.out(`${parsed.CID}\n`)
    })
}
