import os from 'node:os'
import type { BuildVersionInfo } from './node.js'

// The Bacalhau release whose wire formats this project speaks.
export const GIT_VERSION = 'v1.9.3'
const BUILD_DATE = '2026-11-28T00:00:00Z'

export function buildVersionInfo(): BuildVersionInfo {
  const [major, minor] = GIT_VERSION.replace(/^v/, '').split('.')
  return {
    Major: major,
    Minor: minor,
    GitVersion: GIT_VERSION,
    GitCommit: '0000000000000000000000000000000000000000',
    BuildDate: BUILD_DATE,
    GOOS: os.platform(),
    GOARCH: os.arch() === 'x64' ? 'amd64' : os.arch(),
  }
}
