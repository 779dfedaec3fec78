// `bacalhau devstack` as a user runs it: banner, predictable ports, a working cluster,
// and Ctrl-C stopping every node process.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { projectRoot } from '../../src/util/paths.js'
import { CLI_ENTRY, runCli } from '../helpers/node-process.js'

describe('bacalhau devstack', () => {
  it('starts 1 orchestrator + 2 compute processes, prints the banner and stops on Ctrl-C', async () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'devstack-cli-'))
    const child = spawn(process.execPath, [CLI_ENTRY, 'devstack', '--stack-repo', repo], {
      env: { ...process.env, PREDICTABLE_API_PORT: '1', IGNORE_PID_AND_PORT_FILES: '1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    try {
      const end = Date.now() + 60_000
      while (!/export BACALHAU_API_PORT=\d+\n\n\n/.test(out)) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`no banner:\n${out}`)
        await new Promise((r) => setTimeout(r, 100))
      }
      assert.match(
        out,
        /\nDevstack is ready!\nNo. of requester only nodes: 1\nNo. of compute only nodes: 2\nNo. of hybrid nodes: 0\n/,
      )
      assert.match(out, /export BACALHAU_API_HOST=0.0.0.0\nexport BACALHAU_API_PORT=20000\n/)
      const list = await runCli(['node', 'list', '--output', 'json'], { port: 20000 })
      assert.equal(list.code, 0, list.stderr)
      const nodes = JSON.parse(list.stdout) as Array<{
        Info: { NodeID: string; Labels: Record<string, string> }
      }>
      assert.deepEqual(nodes.map((n) => n.Info.NodeID).sort(), ['node-0', 'node-1', 'node-2'])
      assert.equal(nodes.find((n) => n.Info.NodeID === 'node-1')!.Info.Labels.id, 'node-1')
      const run = await runCli(
        ['wasm', 'run', '--id-only', path.join(projectRoot(), 'fixtures/wasm/hello.wasm')],
        { port: 20000 },
      )
      assert.equal(run.code, 0, run.stderr)
    } finally {
      child.kill('SIGINT')
    }
    assert.equal(await exited, 0)
    assert.match(out, /Shutting down devstack/)
    // Every node process is gone with it (read /proc directly: no procps needed).
    const left = fs
      .readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((pid) => {
        try {
          return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(repo)
        } catch {
          return false
        }
      })
    assert.deepEqual(left, [])
    fs.rmSync(repo, { recursive: true, force: true })
  })
})
