import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkJob, cleanJob, parseJobSpec } from '../../src/cli/jobfile.js'

const yamlSpec = `
name: hello
TYPE: batch
Count: 1
tasks:
  - NAME: main
    engine:
      type: wasm
      params:
        EntryModule: /app/main.wasm
        Entrypoint: _start
    inputsources:
      - source: {type: urlDownload, params: {url: "https://x.org/main.wasm"}}
        target: /app
    Timeouts: {executiontimeout: 60}
    Colour: red
Extra: 1
`

describe('job spec files', () => {
  it('reads YAML with case-insensitive keys', () => {
    const { job, warnings } = parseJobSpec(yamlSpec, 'job.yaml')
    assert.equal(job.Name, 'hello')
    assert.equal(job.Type, 'batch')
    assert.equal(job.Tasks?.[0].Name, 'main')
    assert.equal(job.Tasks?.[0].Engine?.Type, 'wasm')
    assert.equal(job.Tasks?.[0].InputSources?.[0].Target, '/app')
    assert.equal(job.Tasks?.[0].Timeouts?.ExecutionTimeout, 60)
    assert.deepEqual(warnings, ['ignoring unknown field "Extra"', 'ignoring unknown field "Tasks[0].Colour"'])
    checkJob(job)
  })

  it('reads JSON, and the {"Job": ...} envelope', () => {
    const text = JSON.stringify({ Job: { type: 'ops', tasks: [{ name: 't', engine: { type: 'wasm' } }] } })
    const { job } = parseJobSpec(text, 'job.json')
    assert.equal(job.Type, 'ops')
    assert.equal(job.Tasks?.[0].Name, 't')
  })

  it('keeps int64 times exact through cleanJob', () => {
    const { job } = parseJobSpec('{"Type":"batch","CreateTime":1735787045123456789,"Tasks":[]}', 'j.json')
    assert.equal(cleanJob(job).CreateTime, 1735787045123456789n)
  })

  it('names the file and problem for malformed YAML/JSON and wrong shapes', () => {
    assert.throws(
      () => parseJobSpec('Type: batch\nTasks: [\n', 'bad.yaml'),
      (e: Error) => {
        assert.match(e.message, /^bad.yaml: invalid YAML: .* at line \d+, column \d+$/)
        return true
      },
    )
    assert.throws(() => parseJobSpec('{"Type": "batch",}', 'bad.json'), {
      message: /^bad.json: invalid JSON: Expected double-quoted property name/,
    })
    assert.throws(() => parseJobSpec('', 'empty.yaml'), /empty.yaml: the job spec is empty/)
    assert.throws(
      () => parseJobSpec('- a\n- b\n', 'list.yaml'),
      /list.yaml: expected a job object at the top level/,
    )
    assert.throws(() => parseJobSpec('Type: batch\nCount: many\n', 'c.yaml'), {
      message: /^c.yaml: invalid job spec: Count: /,
    })
  })

  it('runs the server submission checks locally', () => {
    const { job } = parseJobSpec('Name: x\nTasks: []\n', 'x.yaml')
    assert.throws(
      () => checkJob(job, 'x.yaml'),
      /x.yaml: invalid job spec: missing job type; missing job tasks/,
    )
    const { job: j2 } = parseJobSpec('Type: batchy\nTasks: [{Name: main, Engine: {Type: wasm}}]\n', 'y.yaml')
    assert.throws(() => checkJob(j2), /invalid job type: "batchy"/)
  })
})
