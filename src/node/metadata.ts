// <DataDir>/system_metadata.yaml: the node's persistent identity (Bacalhau's repo layout).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import YAML from 'yaml'

export interface SystemMetadata {
  RepoVersion: number
  InstanceID: string
  NodeName: string
}

function newNodeName(provider: string): string {
  switch (provider) {
    case 'hostname':
      return os.hostname().replace(/\./g, '-')
    case 'uuid':
      return randomUUID()
    default:
      return `n-${randomUUID()}`
  }
}

/** Reads the metadata file, creating it (and the node name) on first start. */
export function loadOrCreateMetadata(
  dataDir: string,
  nameProvider: string,
  requestedName?: string,
): SystemMetadata {
  const file = path.join(dataDir, 'system_metadata.yaml')
  let meta: Partial<SystemMetadata> = {}
  if (fs.existsSync(file)) {
    try {
      meta = (YAML.parse(fs.readFileSync(file, 'utf8')) as Partial<SystemMetadata>) ?? {}
    } catch (e) {
      throw new Error(`cannot read ${file}: ${(e as Error).message}`)
    }
  }
  const full: SystemMetadata = {
    RepoVersion: meta.RepoVersion ?? 4,
    InstanceID: meta.InstanceID ?? randomUUID(),
    NodeName: meta.NodeName || requestedName || newNodeName(nameProvider),
  }
  if (full.InstanceID !== meta.InstanceID || full.NodeName !== meta.NodeName || !meta.RepoVersion) {
    fs.mkdirSync(dataDir, { recursive: true })
    fs.writeFileSync(file, YAML.stringify(full))
  }
  return full
}
