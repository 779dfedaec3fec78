import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InvalidArgumentError } from 'commander'
import {
  durationArg,
  hasStorageScheme,
  intArg,
  normalizeBoolFlags,
  parseCsvRecord,
  parseEnvVars,
  parseInputSource,
  parseLabels,
  parsePublisher,
  parseResultPath,
  splitCommaValues,
} from '../../src/cli/flags.js'
import { booleanFlagNames, buildProgram } from '../../src/cli/program.js'

describe('CSV records', () => {
  it('splits on commas and honours double quotes', () => {
    assert.deepEqual(parseCsvRecord('a,b,c'), ['a', 'b', 'c'])
    assert.deepEqual(parseCsvRecord('"a,b",c'), ['a,b', 'c'])
    assert.deepEqual(parseCsvRecord('"say ""hi""",x'), ['say "hi"', 'x'])
    assert.deepEqual(parseCsvRecord(''), [''])
    assert.throws(() => parseCsvRecord('"open'), /unterminated quote/)
    assert.deepEqual(splitCommaValues(['a=1,b=2', 'c']), ['a=1', 'b=2', 'c'])
  })
})

describe('-i/--input', () => {
  it('parses the simple form URI[:DST]', () => {
    assert.deepEqual(parseInputSource('ipfs://QmX'), {
      Source: { Type: 'ipfs', Params: { CID: 'QmX' } },
      Alias: 'ipfs://QmX',
      Target: '/inputs',
    })
    assert.equal(parseInputSource('ipfs://QmX:/data').Target, '/data')
    assert.deepEqual(parseInputSource('https://example.com/f.csv:/in').Source, {
      Type: 'urlDownload',
      Params: { URL: 'https://example.com/f.csv' },
    })
    assert.equal(parseInputSource('https://example.com/f.csv').Target, '/inputs')
  })

  it('parses s3 with options', () => {
    assert.deepEqual(
      parseInputSource('src=s3://bkt/dir/,dst=/in,opt=region=eu-west-1,opt=endpoint=http://h:9000'),
      {
        Source: {
          Type: 's3',
          Params: { Bucket: 'bkt', Key: 'dir/', Region: 'eu-west-1', Endpoint: 'http://h:9000' },
        },
        Alias: 's3://bkt/dir/',
        Target: '/in',
      },
    )
    const p = parseInputSource('s3://b/k,opt=version-id=v1,opt=checksum256=abc,opt=filter=.*csv').Source!
      .Params!
    assert.equal(p.VersionID, 'v1')
    assert.equal(p.ChecksumSHA256, 'abc')
    assert.equal(p.Filter, '.*csv')
    assert.throws(() => parseInputSource('s3://b/k,opt=colour=red'), /unknown s3 option "colour"/)
  })

  it('parses file:// as a local source, read-only unless rw', () => {
    assert.deepEqual(parseInputSource('file:///srv/data,dst=/data,opt=rw=true'), {
      Source: { Type: 'local', Params: { SourcePath: '/srv/data', ReadWrite: true } },
      Alias: 'file:///srv/data',
      Target: '/data',
    })
    assert.equal(parseInputSource('file:///srv/data:/data').Source!.Params!.ReadWrite, false)
    assert.equal(parseInputSource('file:///srv/data:/data').Target, '/data')
    assert.throws(() => parseInputSource('file:///x,opt=rw=maybe'), /must be true or false/)
  })

  it('matches field keys case-insensitively and accepts the aliases', () => {
    const a = parseInputSource('SOURCE=ipfs://Qm,Destination=/d')
    assert.equal(a.Target, '/d')
    assert.equal(parseInputSource('src=https://h/f?x=1,target=/t').Source!.Params!.URL, 'https://h/f?x=1')
  })

  it('rejects unknown schemes, bad fields and unsupported types', () => {
    assert.throws(() => parseInputSource('ftp://h/f'), /unknown storage schema "ftp"/)
    assert.throws(() => parseInputSource('/local/path'), /unknown storage schema/)
    assert.throws(() => parseInputSource('git://h/r'), /unsupported type git/)
    assert.throws(() => parseInputSource('ipfs://Qm,extra'), /invalid storage option "extra"/)
    assert.throws(() => parseInputSource('ipfs://Qm,colour=red'), /unexpected key "colour"/)
    assert.throws(() => parseInputSource('dst=/x'), /missing source/)
    assert.throws(() => parseInputSource('https://h/f?x=1'), /unexpected key/)
  })

  it('recognises storage URIs', () => {
    assert.ok(hasStorageScheme('https://x/y.wasm'))
    assert.ok(hasStorageScheme('src=ipfs://Qm,dst=/a'))
    assert.ok(!hasStorageScheme('main.wasm'))
    assert.ok(!hasStorageScheme('./dir/main.wasm:/app/m.wasm'))
  })
})

describe('-p/--publisher', () => {
  it('parses type names and s3 URIs', () => {
    assert.deepEqual(parsePublisher('local'), { Type: 'local' })
    assert.deepEqual(parsePublisher('ipfs'), { Type: 'ipfs' })
    assert.deepEqual(parsePublisher('s3managed'), { Type: 's3managed' })
    assert.deepEqual(parsePublisher('s3://bucket/results/{jobID}'), {
      Type: 's3',
      Params: { Bucket: 'bucket', Key: 'results/{jobID}' },
    })
    assert.deepEqual(parsePublisher('s3://b/k,opt=region=eu,opt=encoding=plain'), {
      Type: 's3',
      Params: { Bucket: 'b', Key: 'k', region: 'eu', encoding: 'plain' },
    })
    assert.deepEqual(parsePublisher('target=s3://b/k,opt=key=other'), {
      Type: 's3',
      Params: { Bucket: 'b', Key: 'other' },
    })
  })

  it('rejects unknown publishers with a clear message', () => {
    assert.throws(() => parsePublisher('dropbox'), {
      message: 'unknown publisher type "dropbox" (use ipfs, local, s3://bucket/key or s3managed)',
    })
    assert.throws(() => parsePublisher('s3'), /missing S3 bucket/)
    assert.throws(() => parsePublisher('local,extra'), /invalid publisher option "extra"/)
  })
})

describe('-o, -e, -l', () => {
  it('parses NAME:PATH outputs', () => {
    assert.deepEqual(parseResultPath('outputs:/outputs'), { Name: 'outputs', Path: '/outputs' })
    for (const bad of ['outputs', 'a:b:c', ':/x', 'x:'])
      assert.throws(() => parseResultPath(bad), /expected NAME:PATH/, bad)
  })

  it('parses env vars', () => {
    assert.deepEqual(parseEnvVars(['A=1,B=two', 'C=x=y', 'D=']), { A: '1', B: 'two', C: 'x=y', D: '' })
    assert.throws(() => parseEnvVars(['NOVALUE']), /invalid --env value "NOVALUE": expected KEY=VALUE/)
  })

  it('parses and checks labels', () => {
    assert.deepEqual(parseLabels(['env=prod,gpu', 'example.com/team=ml']), {
      env: 'prod',
      gpu: '',
      'example.com/team': 'ml',
    })
    assert.throws(() => parseLabels(['bad key=1']), /invalid --labels key "bad key"/)
    assert.throws(() => parseLabels(['k=-bad']), /invalid --labels value "-bad"/)
  })
})

describe('numeric and boolean flags', () => {
  it('checks integers and durations', () => {
    assert.equal(intArg({ min: 0 })('10'), 10)
    assert.throws(() => intArg()('abc'), InvalidArgumentError)
    assert.throws(() => intArg({ min: 1 })('0'), /at least 1/)
    assert.equal(durationArg('5m'), 300_000)
    assert.equal(durationArg('90'), 90_000)
    assert.throws(() => durationArg('soon'), InvalidArgumentError)
  })

  it('rewrites --flag=true|false for boolean flags', () => {
    const bools = new Set(['wait', 'no-wait', 'wide', 'no-style'])
    assert.deepEqual(normalizeBoolFlags(['--wait=false', '--wide=true', 'x'], bools), [
      '--no-wait',
      '--wide',
      'x',
    ])
    assert.deepEqual(normalizeBoolFlags(['--wide=false', '--no-style=false'], bools), [])
    assert.deepEqual(normalizeBoolFlags(['--name=x', '--', '--wait=false'], bools), [
      '--name=x',
      '--',
      '--wait=false',
    ])
    assert.throws(
      () => normalizeBoolFlags(['--wait=maybe'], bools),
      /invalid argument "maybe" for "--wait" flag/,
    )
  })

  it('never uses one long name for both a boolean and a valued flag', () => {
    const program = buildProgram()
    const bools = booleanFlagNames(program)
    const valued = new Set<string>()
    const visit = (cmd: typeof program) => {
      for (const o of cmd.options) if ((o.required || o.optional) && o.long) valued.add(o.long.slice(2))
      cmd.commands.forEach(visit)
    }
    visit(program)
    for (const b of bools) assert.ok(!valued.has(b), `--${b} is both boolean and valued`)
    assert.ok(bools.has('wait') && bools.has('no-wait') && bools.has('dry-run'))
  })
})
