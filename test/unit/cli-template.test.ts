import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { renderTemplate, templateVars } from '../../src/cli/template.js'

describe('job templates', () => {
  it('replaces {{.name}} references, with or without spaces and trim markers', () => {
    assert.equal(renderTemplate('name: {{.who}}-{{ .n }}', { who: 'me', n: '2' }), 'name: me-2')
    assert.equal(renderTemplate('a  {{- .x -}}  b', { x: 'X' }), 'aXb')
    assert.equal(renderTemplate('a{{/* note */}}b', {}), 'ab')
    assert.equal(renderTemplate('no templates here', {}), 'no templates here')
  })

  it('fails on a missing key like missingkey=error, naming the key', () => {
    assert.throws(() => renderTemplate('x\ny: {{.who}}', {}, 'job.yaml'), {
      message: 'template: job.yaml:2:4: executing "job.yaml" at <.who>: map has no entry for key "who"',
    })
  })

  it('rejects actions it does not support, and unclosed ones', () => {
    assert.throws(
      () => renderTemplate('{{if .x}}y{{end}}', { x: '1' }),
      /unsupported action "\{\{if \.x\}\}"/,
    )
    assert.throws(() => renderTemplate('a {{.x', { x: '1' }), /unclosed action/)
  })

  it('builds variables from -E env patterns and -V pairs, -V winning', () => {
    const env = { APP_NAME: 'env-name', APP_MODE: 'fast', HOME: '/root' }
    assert.deepEqual(templateVars(['APP_NAME=flag'], ['^APP_'], env), { APP_NAME: 'flag', APP_MODE: 'fast' })
    assert.deepEqual(Object.keys(templateVars(undefined, ['*'], env)).sort(), [
      'APP_MODE',
      'APP_NAME',
      'HOME',
    ])
    assert.deepEqual(templateVars(['a=1,b=2'], undefined, env), { a: '1', b: '2' })
    assert.throws(() => templateVars(['novalue'], undefined, env), /invalid --template-vars value "novalue"/)
    assert.throws(() => templateVars(undefined, ['('], env), /invalid --template-envs pattern "\("/)
  })
})
