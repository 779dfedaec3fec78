import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import YAML from 'yaml'
import { expandDataDir, getConfigValue, loadConfig, setConfigValue } from '../../src/config/load.js'

const roots: string[] = []
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-'))
  roots.push(d)
  return d
}
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true })
})

function write(file: string, text: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, text)
  return file
}

/** Loads with an isolated home and environment. */
function load(opts: Parameters<typeof loadConfig>[0] = {}, home = tmp()) {
  return loadConfig({ env: {}, homeDir: home, cwd: home, ...opts })
}

describe('loadConfig', () => {
  it('returns the defaults when nothing is set', () => {
    const home = tmp()
    const { config, configFiles, warnings } = load({}, home)
    assert.equal(config.API.Port, 1234)
    assert.equal(config.API.Host, '0.0.0.0')
    assert.equal(config.Compute.Heartbeat.Interval, '15s')
    assert.deepEqual(configFiles, [])
    assert.deepEqual(warnings, [])
    assert.ok(path.isAbsolute(config.DataDir))
  })

  it('applies file < env < flags < -c Key=value', () => {
    const dir = tmp()
    const file = write(
      path.join(dir, 'a.yaml'),
      'API:\n  Port: 1000\n  Host: filehost\nLogging:\n  Level: warn\n',
    )
    const base = { configFlags: [file] }
    assert.equal(load(base).config.API.Port, 1000)
    assert.equal(load({ ...base, env: { BACALHAU_API_PORT: '2000' } }).config.API.Port, 2000)
    assert.equal(
      load({ ...base, env: { BACALHAU_API_PORT: '2000' }, flags: { apiPort: 3000 } }).config.API.Port,
      3000,
    )
    const top = load({ configFlags: [file, 'API.Port=4000'], env: { BACALHAU_API_PORT: '2000' } })
    assert.equal(top.config.API.Port, 4000)
    assert.equal(top.config.API.Host, 'filehost')
    assert.equal(top.config.Logging.Level, 'warn')
    assert.deepEqual(top.configFiles, [file])
  })

  it('merges several -c files in order, later wins', () => {
    const dir = tmp()
    const a = write(path.join(dir, 'a.yaml'), 'API: {Port: 1000, Host: a}\n')
    const b = write(path.join(dir, 'b.yml'), 'API: {Port: 2000}\n')
    const { config, configFiles } = load({ configFlags: [a, b] })
    assert.equal(config.API.Port, 2000)
    assert.equal(config.API.Host, 'a')
    assert.deepEqual(configFiles, [a, b])
  })

  it('reads <DataDir>/config.yaml only when no -c file is given', () => {
    const home = tmp()
    const dataDir = path.join(home, 'dd')
    write(path.join(dataDir, 'config.yaml'), 'api:\n  port: 5555\n')
    const viaFlag = load({ flags: { dataDir } }, home)
    assert.equal(viaFlag.config.API.Port, 5555)
    assert.deepEqual(viaFlag.configFiles, [path.join(dataDir, 'config.yaml')])
    assert.equal(load({ env: { BACALHAU_DIR: dataDir } }, home).config.API.Port, 5555)
    assert.equal(load({ env: { BACALHAU_DATADIR: dataDir } }, home).config.API.Port, 5555)
    assert.equal(load({ configFlags: [`DataDir=${dataDir}`] }, home).config.API.Port, 5555)
    const other = write(path.join(home, 'other.yaml'), 'Labels: {a: b}\n')
    const explicit = load({ flags: { dataDir }, configFlags: [other] }, home)
    assert.equal(explicit.config.API.Port, 1234)
    assert.deepEqual(explicit.config.Labels, { a: 'b' })
  })

  it('finds the default config under ~/.bacalhau', () => {
    const home = tmp()
    write(path.join(home, '.bacalhau', 'config.yaml'), 'WebUI:\n  Enabled: true\n')
    const { config } = load({}, home)
    assert.equal(config.WebUI.Enabled, true)
    assert.equal(config.DataDir, path.join(home, '.bacalhau'))
  })

  it('matches YAML keys case-insensitively', () => {
    const file = write(
      path.join(tmp(), 'c.yaml'),
      'orchestrator:\n  nodemanager:\n    MANUALAPPROVAL: true\ncompute:\n  allowlistedlocalpaths: [/data:rw]\njobdefaults:\n  batch:\n    task:\n      publisher:\n        type: local\n',
    )
    const { config } = load({ configFlags: [file] })
    assert.equal(config.Orchestrator.NodeManager.ManualApproval, true)
    assert.deepEqual(config.Compute.AllowListedLocalPaths, ['/data:rw'])
    assert.equal(config.JobDefaults.Batch.Task.Publisher.Type, 'local')
  })

  it('reads env vars for every key, with LOG_LEVEL and BACALHAU_DIR aliases', () => {
    const { config } = load({
      env: {
        BACALHAU_ORCHESTRATOR_NODEMANAGER_MANUALAPPROVAL: 'true',
        BACALHAU_COMPUTE_ALLOWLISTEDLOCALPATHS: '/a:rw,/b',
        BACALHAU_API_HOST: '10.0.0.1',
        BACALHAU_LABELS: 'zone=a,tier=b',
        LOG_LEVEL: 'debug',
        BACALHAU_COMPUTE_ENABLED: '',
      },
    })
    assert.equal(config.Orchestrator.NodeManager.ManualApproval, true)
    assert.deepEqual(config.Compute.AllowListedLocalPaths, ['/a:rw', '/b'])
    assert.equal(config.API.Host, '10.0.0.1')
    assert.deepEqual(config.Labels, { zone: 'a', tier: 'b' })
    assert.equal(config.Logging.Level, 'debug')
    assert.equal(config.Compute.Enabled, false)
    assert.equal(
      load({ env: { LOG_LEVEL: 'debug', BACALHAU_LOGGING_LEVEL: 'error' } }).config.Logging.Level,
      'error',
    )
  })

  it('names the env var in value errors', () => {
    assert.throws(() => load({ env: { BACALHAU_API_PORT: 'abc' } }), {
      message: 'config key API.Port: invalid integer "abc" (from environment variable BACALHAU_API_PORT)',
    })
  })

  it('applies dedicated flags', () => {
    const { config } = load({
      flags: { apiHost: 'h', apiPort: 99, orchestrator: true, compute: false, logLevel: 'warn' },
    })
    assert.equal(config.API.Host, 'h')
    assert.equal(config.API.Port, 99)
    assert.equal(config.Orchestrator.Enabled, true)
    assert.equal(config.Compute.Enabled, false)
    assert.equal(config.Logging.Level, 'warn')
    assert.throws(
      () => load({ flags: { apiPort: 70000 } }),
      /--api-port: config key API.Port: 70000 is above the maximum/,
    )
    assert.throws(
      () => load({ flags: { logLevel: 'loud' } }),
      /--log-level: config key Logging.Level: invalid value "loud"/,
    )
  })

  it('sets a bare bool key to true and refuses bare non-bool keys', () => {
    assert.equal(load({ configFlags: ['compute.enabled'] }).config.Compute.Enabled, true)
    assert.throws(
      () => load({ configFlags: ['API.Port'] }),
      /config key API.Port: a bare key only sets boolean keys/,
    )
  })

  it('refuses a flag and the same key via -c', () => {
    assert.throws(() => load({ configFlags: ['API.Port=5'], flags: { apiPort: 6 } }), {
      message: 'flag: --api-port and config flag key "API.Port" cannot both be provided',
    })
    assert.throws(
      () => load({ configFlags: ['datadir=/x'], flags: { dataDir: '/y' } }),
      /--data-dir and config flag key "datadir"/,
    )
  })

  it('rejects unknown keys wherever they come from', () => {
    assert.throws(() => load({ configFlags: ['Foo.Bar=1'] }), {
      message: 'unknown config key "Foo.Bar" (see `bacalhau config list`)',
    })
    assert.throws(
      () => load({ configFlags: ['Orchestrator.TLS.ServerCert=x'] }),
      /Bacalhau key that this node does not support/,
    )
    const file = write(path.join(tmp(), 'u.yaml'), 'API:\n  Portt: 1\n')
    assert.throws(() => load({ configFlags: [file] }), {
      message: `config file ${file}: unknown config key "API.Portt"`,
    })
  })

  it('loads Bacalhau-only keys from a file with a warning', () => {
    const file = write(
      path.join(tmp(), 'b.yaml'),
      'Orchestrator:\n  Enabled: true\n  TLS:\n    ServerCert: x.pem\nUpdateConfig:\n  Interval: 0s\n',
    )
    const { config, warnings } = load({ configFlags: [file] })
    assert.equal(config.Orchestrator.Enabled, true)
    assert.equal(warnings.length, 2)
    assert.match(warnings[0], /ignoring Orchestrator.TLS, a Bacalhau key this node does not support/)
  })

  it('names the file and YAML problem for malformed YAML', () => {
    const file = write(path.join(tmp(), 'bad.yaml'), 'API:\n  Port: [1\n')
    assert.throws(
      () => load({ configFlags: [file] }),
      (e: Error) => {
        assert.match(
          e.message,
          new RegExp(`^config file ${file}: invalid YAML: .* at line \\d+, column \\d+$`),
        )
        assert.ok(!e.message.includes('\n'))
        return true
      },
    )
  })

  it('names the file and key for bad values in a file', () => {
    const file = write(path.join(tmp(), 'v.yaml'), 'API:\n  Port: abc\n')
    assert.throws(() => load({ configFlags: [file] }), {
      message: `config file ${file}: config key API.Port: invalid integer "abc"`,
    })
    const f2 = write(path.join(tmp(), 'v2.yaml'), 'API: 5\n')
    assert.throws(() => load({ configFlags: [f2] }), /API must be a map of keys/)
    const f3 = write(path.join(tmp(), 'v3.yaml'), '- a\n- b\n')
    assert.throws(() => load({ configFlags: [f3] }), /expected a map of config keys at the top level/)
  })

  it('reports a missing -c file', () => {
    assert.throws(() => load({ configFlags: ['/nonexistent/x.yaml'] }), {
      message: 'config file /nonexistent/x.yaml not found',
    })
  })

  it('expands ~ and relative DataDir, rejects $', () => {
    const home = tmp()
    assert.equal(load({ flags: { dataDir: '~/data' } }, home).config.DataDir, path.join(home, 'data'))
    assert.equal(load({ flags: { dataDir: 'rel' }, cwd: '/srv' }, home).config.DataDir, '/srv/rel')
    assert.throws(
      () => load({ flags: { dataDir: '$HOME/x' } }, home),
      /DataDir: "\$HOME\/x" must not contain '\$'/,
    )
    assert.equal(expandDataDir('~', '/', '/home/u'), '/home/u')
  })

  it('treats an empty config file as empty', () => {
    const file = write(path.join(tmp(), 'e.yaml'), '# nothing\n')
    assert.equal(load({ configFlags: [file] }).config.API.Port, 1234)
  })
})

describe('setConfigValue / getConfigValue', () => {
  it('writes typed values, creating the file and its folder', () => {
    const file = path.join(tmp(), 'new', 'dir', 'config.yaml')
    assert.deepEqual(setConfigValue(file, 'api.port', '1235'), { key: 'API.Port', value: 1235 })
    setConfigValue(file, 'Compute.AllowListedLocalPaths', '/a:rw,/b')
    setConfigValue(file, 'Orchestrator.NodeManager.ManualApproval', 'true')
    setConfigValue(file, 'Labels', 'a=1')
    assert.deepEqual(YAML.parse(fs.readFileSync(file, 'utf8')), {
      API: { Port: 1235 },
      Compute: { AllowListedLocalPaths: ['/a:rw', '/b'] },
      Orchestrator: { NodeManager: { ManualApproval: true } },
      Labels: { a: '1' },
    })
    const { config } = load({ configFlags: [file] })
    assert.equal(config.API.Port, 1235)
    assert.equal(getConfigValue(config, 'ORCHESTRATOR.NODEMANAGER.MANUALAPPROVAL'), true)
  })

  it('keeps existing content and reuses an existing key spelling', () => {
    const file = write(
      path.join(tmp(), 'c.yaml'),
      '# my settings\napi:\n  port: 1\n  host: x\nwebui:\n  enabled: true\n',
    )
    setConfigValue(file, 'API.Port', '2')
    const text = fs.readFileSync(file, 'utf8')
    assert.match(text, /# my settings/)
    assert.deepEqual(YAML.parse(text), { api: { port: 2, host: 'x' }, webui: { enabled: true } })
  })

  it('validates before writing', () => {
    const file = path.join(tmp(), 'c.yaml')
    assert.throws(() => setConfigValue(file, 'API.Port', 'abc'), {
      message: 'config key API.Port: invalid integer "abc"',
    })
    assert.throws(() => setConfigValue(file, 'No.Such', '1'), /unknown config key "No.Such"/)
    assert.ok(!fs.existsSync(file))
    const bad = write(path.join(tmp(), 'bad.yaml'), 'a: [\n')
    assert.throws(() => setConfigValue(bad, 'API.Port', '1'), /invalid YAML/)
  })

  it('getConfigValue refuses unknown keys', () => {
    assert.throws(() => getConfigValue(load().config, 'API.Nope'), /unknown config key/)
  })
})
