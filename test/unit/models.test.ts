import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { defaultConfig, parseDuration } from '../../src/config/types.js'
import { JobSchema, SubmitJobRequestSchema } from '../../src/models/job.js'
import { nanosToRfc3339, parseJson, stringifyJson } from '../../src/models/json.js'
import { parseSelector, selectorMatches } from '../../src/models/labels.js'
import { prepareSubmittedJob } from '../../src/models/normalize.js'
import { parseBytes, parseCpu, parseGpu } from '../../src/models/resources.js'
import { storeErrors, submissionErrors } from '../../src/models/validate.js'
import { decodePageToken, encodePageToken } from '../../src/orchestrator/paging.js'

const ctx = { orchestratorId: 'n-1', jobDefaults: defaultConfig().JobDefaults }

describe('job decoding', () => {
  it('reads keys case-insensitively and ignores unknown keys', () => {
    const job = JobSchema.parse({
      type: 'batch',
      NAME: 'x',
      bogus: 1,
      tasks: [
        {
          name: 'main',
          engine: { type: 'wasm', params: { EntryModule: '/m.wasm' } },
          timeouts: { executiontimeout: 5 },
        },
      ],
    })
    assert.equal(job.Type, 'batch')
    assert.equal(job.Name, 'x')
    assert.equal((job as Record<string, unknown>).bogus, undefined)
    assert.equal(job.Tasks![0].Engine!.Type, 'wasm')
    assert.equal(job.Tasks![0].Timeouts!.ExecutionTimeout, 5)
  })

  it('accepts null where Go would emit null for empty collections', () => {
    const job = JobSchema.parse({
      Type: 'batch',
      Constraints: null,
      Labels: null,
      Tasks: [{ Name: 't', Engine: { Type: 'noop', Params: null }, InputSources: null }],
    })
    assert.equal(job.Constraints, undefined)
    assert.equal(job.Tasks![0].InputSources, undefined)
  })

  it('decodes network types case-insensitively and names an unknown one', () => {
    const ok = JobSchema.parse({
      Type: 'batch',
      Tasks: [{ Name: 't', Engine: { Type: 'noop' }, Network: { Type: 'http' } }],
    })
    assert.equal(ok.Tasks![0].Network!.Type, 'HTTP')
    const bad = JobSchema.safeParse({ Type: 'batch', Tasks: [{ Name: 't', Network: { Type: 'wifi' } }] })
    assert.equal(bad.success, false)
    assert.match(JSON.stringify(bad.error!.issues), /unknown type 'wifi'/)
  })

  it('reads the submit envelope case-insensitively', () => {
    const r = SubmitJobRequestSchema.parse({ job: { Type: 'ops' }, force: true })
    assert.equal(r.Job!.Type, 'ops')
    assert.equal(r.Force, true)
  })
})

describe('nanosecond timestamps', () => {
  it('round-trip int64 nanoseconds exactly through JSON', () => {
    const text = '{"CreateTime":1735787045123456789,"Small":12,"S":"1735787045123456789"}'
    const v = parseJson(text) as { CreateTime: bigint; Small: number; S: string }
    assert.equal(v.CreateTime, 1735787045123456789n)
    assert.equal(v.Small, 12)
    assert.equal(v.S, '1735787045123456789')
    assert.equal(stringifyJson(v), text)
  })

  it('formats nanoseconds as RFC 3339 with nine fractional digits', () => {
    assert.equal(nanosToRfc3339(1735787045123456789n), '2025-01-02T03:04:05.123456789Z')
  })
})

describe('resource quantities', () => {
  it('parses CPU, memory, disk and GPU the way Bacalhau does', () => {
    assert.equal(parseCpu('500m'), 0.5)
    assert.equal(parseCpu('2'), 2)
    assert.equal(parseCpu('0.25'), 0.25)
    assert.equal(parseBytes('512Mb'), 512_000_000)
    assert.equal(parseBytes('1Gi'), 2 ** 30)
    assert.equal(parseBytes('2 GiB'), 2 * 2 ** 30)
    assert.equal(parseBytes('100'), 100)
    assert.equal(parseGpu('1'), 1)
    assert.throws(() => parseCpu('lots'), /invalid CPU value: lots/)
    assert.throws(() => parseBytes('12parsecs'), /invalid memory value/)
    assert.throws(() => parseGpu('-1'), /invalid GPU value/)
  })

  it('parses Go durations', () => {
    assert.equal(parseDuration('1m30s'), 90_000)
    assert.equal(parseDuration('250ms'), 250)
    assert.throws(() => parseDuration('soon'), /invalid duration/)
  })
})

describe('label selectors', () => {
  it('parses Kubernetes selector syntax and matches labels', () => {
    const sel = parseSelector('env=prod, tier in (a,b), !gpu, zone')
    assert.deepEqual(
      sel.map((r) => r.Operator),
      ['=', 'in', '!', 'exists'],
    )
    assert.equal(selectorMatches(sel, { env: 'prod', tier: 'b', zone: 'x' }), true)
    assert.equal(selectorMatches(sel, { env: 'prod', tier: 'c', zone: 'x' }), false)
    assert.equal(selectorMatches(sel, { env: 'prod', tier: 'a', zone: 'x', gpu: '1' }), false)
    assert.throws(() => parseSelector('a=b=c'), /invalid label selector term/)
  })
})

describe('validation', () => {
  it('reports every submission problem with Bacalhau-style messages', () => {
    const job = JobSchema.parse({
      Type: 'batch',
      Count: -1,
      Constraints: [{ Key: '', Operator: 'in' }],
      Tasks: [
        {
          Name: 't',
          Engine: { Type: '' },
          Env: { lower: 'x', BACALHAU_X: 'y', EMPTY: '' },
          InputSources: [
            { Source: { Type: 'inline' }, Target: '/in' },
            { Source: { Type: 'inline' }, Target: '/in' },
          ],
          ResultPaths: [{ Name: 'o', Path: 'relative' }],
          Timeouts: { QueueTimeout: -5 },
        },
      ],
    })
    const errs = submissionErrors(job).join('\n')
    for (const expected of [
      'job count must be >= 0',
      'constraint 0 validation failed: selector key cannot be blank',
      "task t validation failed: environment variable 'lower' must be uppercase",
      "environment variable 'BACALHAU_X' cannot start with BACALHAU_",
      "environment variable 'EMPTY' cannot have empty value",
      'invalid engine: missing spec type',
      "input source with target '/in' already exists",
      'result path `relative` must be absolute',
      'invalid queue timeout value: -5s',
    ])
      assert.ok(errs.includes(expected), `missing: ${expected}\n${errs}`)
    assert.deepEqual(submissionErrors(undefined), ['empty/nil job'])
  })
})

describe('submission transforms', () => {
  it('applies Bacalhau defaults and sanitises with warnings', () => {
    const { job, warnings } = prepareSubmittedJob(
      JobSchema.parse({
        ID: 'mine',
        Type: 'batch',
        Meta: { 'bacalhau.org/x': '1', keep: 'y' },
        State: { StateType: 'Running' },
        Tasks: [
          { Name: 'a', Engine: { Type: ' noop ' } },
          { Name: 'b', Engine: { Type: 'noop' } },
        ],
      }),
      ctx,
    )
    assert.match(job.ID, /^j-[0-9a-f-]{36}$/)
    assert.equal(job.Name, job.ID)
    assert.equal(job.Namespace, 'default')
    assert.equal(job.Count, 1)
    assert.equal(job.Tasks.length, 1)
    assert.equal(job.Tasks[0].Engine!.Type, 'noop')
    assert.deepEqual(job.Tasks[0].Resources, {
      CPU: '500m',
      Memory: '512mb',
      Disk: undefined,
      GPU: undefined,
    })
    assert.equal(job.Tasks[0].Network!.Type, 'Default')
    assert.equal(job.Meta.keep, 'y')
    assert.equal(job.Meta['bacalhau.org/x'], undefined)
    assert.equal(job.Meta['bacalhau.org/orchestrator.id'], 'n-1')
    assert.ok(warnings.includes('job ID is ignored when submitting a batch job'))
    assert.ok(warnings.includes('only one task is supported per job'))
    assert.ok(warnings.includes('job state is ignored when submitting a job'))
    assert.ok(warnings.some((w) => w.includes('bacalhau.org/x')))
  })

  it('keeps an explicit Count 0 for batch and forces 0 for ops', () => {
    const batch = prepareSubmittedJob(
      JobSchema.parse({ Type: 'batch', Count: 0, Tasks: [{ Name: 't', Engine: { Type: 'noop' } }] }),
      ctx,
    )
    assert.equal(batch.job.Count, 0)
    const ops = prepareSubmittedJob(
      JobSchema.parse({ Type: 'ops', Tasks: [{ Name: 't', Engine: { Type: 'noop' } }] }),
      ctx,
    )
    assert.equal(ops.job.Count, 0)
  })

  it('converts the v1.5 WASM params to input sources and paths', () => {
    const { job } = prepareSubmittedJob(
      JobSchema.parse({
        Type: 'batch',
        Tasks: [
          {
            Name: 't',
            Engine: {
              Type: 'wasm',
              Params: {
                EntryModule: { Source: { Type: 'inline', Params: { URL: 'data:,x' } } },
                EntryPoint: '_start',
                ImportModules: [{ Source: { Type: 'inline', Params: { URL: 'data:,y' } } }],
              },
            },
          },
        ],
      }),
      ctx,
    )
    const t = job.Tasks[0]
    assert.equal(t.Engine!.Params!.EntryModule, '/wasm/entry.wasm')
    assert.equal(t.Engine!.Params!.Entrypoint, '_start')
    assert.deepEqual(t.Engine!.Params!.ImportModules, ['/wasm/imports/module_0.wasm'])
    assert.deepEqual(
      t.InputSources!.map((i) => i.Target),
      ['/wasm/entry.wasm', '/wasm/imports/module_0.wasm'],
    )
  })

  it('requires a publisher when result paths are set (store-time check)', () => {
    const { job } = prepareSubmittedJob(
      JobSchema.parse({
        Type: 'batch',
        Tasks: [{ Name: 't', Engine: { Type: 'noop' }, ResultPaths: [{ Name: 'o', Path: '/o' }] }],
      }),
      ctx,
    )
    assert.deepEqual(storeErrors(job), ['publisher must be set if result paths are set'])
  })
})

describe('page tokens', () => {
  it('uses Bacalhau’s base64url format and rejects garbage', () => {
    const t = encodePageToken({ sortBy: 'created_at', reverse: false, limit: 10, offset: 20 })
    assert.equal(t, 'Y3JlYXRlZF9hdDpOOjEwOjIw')
    assert.deepEqual(decodePageToken(t), { sortBy: 'created_at', reverse: false, limit: 10, offset: 20 })
    assert.throws(() => decodePageToken('bm9wZQ'), /invalid next token/)
  })
})
