import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  coerceFileValue,
  configKeys,
  envNameFor,
  findConfigKey,
  formatConfigValue,
  isConfigSection,
  isUnsupportedBacalhauKey,
  parseConfigValue,
} from '../../src/config/keys.js'
import { defaultConfig } from '../../src/config/types.js'

function leaves(obj: unknown, prefix = ''): string[] {
  if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
    const entries = Object.entries(obj as Record<string, unknown>)
    // Maps (Labels, Publisher.Params) are leaves, whatever they hold.
    if (prefix && (prefix === 'Labels' || prefix.endsWith('.Params'))) return [prefix]
    if (entries.length === 0) return [prefix]
    return entries.flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k))
  }
  return [prefix]
}

const key = (name: string) => {
  const k = findConfigKey(name)
  assert.ok(k, `missing key ${name}`)
  return k
}

describe('config keys', () => {
  it('lists exactly the leaves of Config', () => {
    const fromConfig = leaves(defaultConfig()).sort()
    const listed = configKeys.map((k) => k.key).sort()
    assert.deepEqual(listed, fromConfig)
  })

  it('has a type and a one-line description for every key', () => {
    for (const k of configKeys) {
      assert.ok(k.description.length > 5 && !k.description.includes('\n'), k.key)
      assert.ok(['string', 'int', 'bool', 'duration', 'stringList', 'map'].includes(k.type), k.key)
    }
  })

  it('finds keys case-insensitively and knows sections', () => {
    assert.equal(findConfigKey('api.port')?.key, 'API.Port')
    assert.equal(
      findConfigKey('ORCHESTRATOR.NODEMANAGER.MANUALAPPROVAL')?.key,
      'Orchestrator.NodeManager.ManualApproval',
    )
    assert.equal(findConfigKey('API'), undefined)
    assert.ok(isConfigSection('api'))
    assert.ok(isConfigSection('JobDefaults.Batch.Task'))
    assert.ok(!isConfigSection('API.Port'))
    assert.ok(isUnsupportedBacalhauKey('Orchestrator.TLS.ServerCert'))
    assert.ok(!isUnsupportedBacalhauKey('Orchestrator.Auth.Token'))
    assert.ok(isUnsupportedBacalhauKey('api.tls.certfile'))
    assert.ok(!isUnsupportedBacalhauKey('API.Port'))
  })

  it('derives env names by upper-casing and replacing dots', () => {
    assert.equal(envNameFor('API.Port'), 'BACALHAU_API_PORT')
    assert.equal(envNameFor('Compute.AllowListedLocalPaths'), 'BACALHAU_COMPUTE_ALLOWLISTEDLOCALPATHS')
    assert.equal(
      envNameFor('Orchestrator.NodeManager.ManualApproval'),
      'BACALHAU_ORCHESTRATOR_NODEMANAGER_MANUALAPPROVAL',
    )
  })

  it('parses bools like Go strconv.ParseBool', () => {
    const k = key('Compute.Enabled')
    for (const t of ['true', 'TRUE', 'True', 't', '1']) assert.equal(parseConfigValue(k, t), true)
    for (const f of ['false', 'FALSE', 'f', '0']) assert.equal(parseConfigValue(k, f), false)
    assert.throws(
      () => parseConfigValue(k, 'yes'),
      /^Error: config key Compute.Enabled: invalid boolean "yes"$/,
    )
  })

  it('parses integers with ranges', () => {
    const k = key('API.Port')
    assert.equal(parseConfigValue(k, '1235'), 1235)
    assert.throws(() => parseConfigValue(k, 'abc'), { message: 'config key API.Port: invalid integer "abc"' })
    assert.throws(() => parseConfigValue(k, '1.5'), /invalid integer/)
    assert.throws(() => parseConfigValue(k, '70000'), /API.Port: 70000 is above the maximum 65535/)
    assert.throws(
      () => parseConfigValue(key('Orchestrator.Scheduler.WorkerCount'), '0'),
      /below the minimum 1/,
    )
  })

  it('parses Go durations and rejects others', () => {
    const k = key('Compute.Heartbeat.Interval')
    for (const d of ['30s', '1m', '2h45m', '100ms', '1.5h']) assert.equal(parseConfigValue(k, d), d)
    assert.equal(parseConfigValue(k, '0'), '0s')
    assert.throws(
      () => parseConfigValue(k, '30'),
      /config key Compute.Heartbeat.Interval: invalid duration "30"/,
    )
    assert.throws(() => parseConfigValue(k, '5 minutes'), /invalid duration/)
  })

  it('parses comma lists without spaces, semicolons or empty items', () => {
    const k = key('Compute.AllowListedLocalPaths')
    assert.deepEqual(parseConfigValue(k, '/a:rw,/b'), ['/a:rw', '/b'])
    assert.deepEqual(parseConfigValue(k, ''), [])
    assert.throws(() => parseConfigValue(k, '/a,,/b'), /empty item/)
    assert.throws(() => parseConfigValue(k, '/a, /b'), /must not contain spaces/)
    assert.throws(() => parseConfigValue(k, '/a;/b'), /must not contain spaces or ';'/)
  })

  it('parses k=v maps with one = per item', () => {
    const k = key('Labels')
    assert.deepEqual(parseConfigValue(k, 'region=eu,tier=gold'), { region: 'eu', tier: 'gold' })
    assert.throws(() => parseConfigValue(k, 'region'), /invalid map item "region"/)
    assert.throws(() => parseConfigValue(k, 'a=b=c'), /one "=" per item/)
  })

  it('checks enumerations case-insensitively and stores the canonical spelling', () => {
    assert.equal(parseConfigValue(key('JobAdmissionControl.Locality'), 'Anywhere'), 'anywhere')
    assert.equal(parseConfigValue(key('Logging.Level'), 'DEBUG'), 'debug')
    assert.throws(
      () => parseConfigValue(key('Store.Type'), 'postgres'),
      /Store.Type: invalid value "postgres" \(allowed: sqlite, memory\)/,
    )
  })

  it('checks resource quantities', () => {
    assert.equal(parseConfigValue(key('Compute.AllocatedCapacity.CPU'), '80%'), '80%')
    assert.equal(parseConfigValue(key('Compute.AllocatedCapacity.Memory'), '4Gb'), '4Gb')
    assert.throws(() => parseConfigValue(key('Compute.AllocatedCapacity.CPU'), '120%'), /between 0 and 100/)
    assert.throws(
      () => parseConfigValue(key('JobDefaults.Batch.Task.Resources.Memory'), 'lots'),
      /invalid memory value/,
    )
  })

  it('coerces native YAML values from files', () => {
    assert.equal(coerceFileValue(key('API.Port'), 1234), 1234)
    assert.equal(coerceFileValue(key('API.Port'), '1234'), 1234)
    assert.throws(() => coerceFileValue(key('API.Port'), [1]), /expected an integer, got a list/)
    assert.equal(coerceFileValue(key('Compute.Enabled'), true), true)
    assert.deepEqual(coerceFileValue(key('Compute.Orchestrators'), ['a:1', 'b:2']), ['a:1', 'b:2'])
    assert.deepEqual(coerceFileValue(key('Labels'), { a: 1, b: true }), { a: '1', b: 'true' })
    assert.deepEqual(coerceFileValue(key('JobDefaults.Batch.Task.Publisher.Params'), { n: 1 }), { n: 1 })
    assert.equal(coerceFileValue(key('InputSources.ReadTimeout'), 0), '0s')
    assert.throws(() => coerceFileValue(key('InputSources.ReadTimeout'), 30), /write a unit/)
    assert.equal(coerceFileValue(key('API.Host'), '127.0.0.1'), '127.0.0.1')
  })

  it('formats values the way config set accepts them', () => {
    assert.equal(formatConfigValue(key('Compute.Orchestrators'), ['a', 'b']), 'a,b')
    assert.equal(formatConfigValue(key('Labels'), { a: '1', b: '2' }), 'a=1,b=2')
    assert.equal(formatConfigValue(key('API.Port'), 1234), '1234')
    assert.equal(formatConfigValue(key('JobDefaults.Batch.Task.Publisher.Params'), {}), '')
  })
})
