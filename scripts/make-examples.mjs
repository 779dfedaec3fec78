// Writes examples/*: Bacalhau job files that embed the fixture modules inline, so they
// run on any node with no external data. Re-run after rebuilding the fixtures.
import fs from 'node:fs'
import path from 'node:path'
import YAML from 'yaml'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const b64 = (f) => fs.readFileSync(path.join(root, 'fixtures/wasm', f)).toString('base64')
const inline = (f, target) => ({ Target: target, Source: { Type: 'inline', Params: { URL: `data:application/wasm;base64,${b64(f)}` } } })

const examples = {
  'wasm-hello': {
    Name: 'wasm-hello',
    Type: 'batch',
    Count: 1,
    Tasks: [{
      Name: 'main',
      Engine: { Type: 'wasm', Params: { EntryModule: '/app/hello.wasm', Entrypoint: '_start' } },
      Publisher: { Type: 'local' },
      ResultPaths: [{ Name: 'outputs', Path: '/outputs' }],
      InputSources: [inline('hello.wasm', '/app/hello.wasm')],
      Timeouts: { ExecutionTimeout: 60 },
    }],
  },
  'wasm-args-env': {
    Name: 'wasm-args-env',
    Type: 'batch',
    Count: 1,
    Tasks: [{
      Name: 'main',
      Engine: { Type: 'wasm', Params: { EntryModule: '/app/args.wasm', Entrypoint: '_start', Parameters: ['first', 'second arg'] } },
      Env: { GREETING: 'hello from the job spec' },
      Publisher: { Type: 'local' },
      InputSources: [inline('args.wasm', '/app/args.wasm')],
      Resources: { CPU: '250m', Memory: '64Mb' },
    }],
  },
  'wasm-legacy-v1.5': {
    Name: 'wasm-legacy',
    Type: 'batch',
    Count: 1,
    Tasks: [{
      Name: 'main',
      Engine: {
        Type: 'wasm',
        Params: {
          EntryModule: { Source: { Type: 'inline', Params: { URL: `data:application/wasm;base64,${b64('hello.wasm')}` } } },
          EntryPoint: '_start',
          Parameters: [],
        },
      },
      Publisher: { Type: 'local' },
    }],
  },
  'wasm-ops': {
    Name: 'wasm-ops',
    Type: 'ops',
    Tasks: [{
      Name: 'main',
      Engine: { Type: 'wasm', Params: { EntryModule: '/app/hello.wasm', Entrypoint: '_start' } },
      InputSources: [inline('hello.wasm', '/app/hello.wasm')],
    }],
  },
  noop: {
    Name: 'noop',
    Type: 'batch',
    Count: 1,
    Tasks: [{ Name: 'main', Engine: { Type: 'noop' }, Publisher: { Type: 'noop' } }],
  },
}

fs.mkdirSync(path.join(root, 'examples'), { recursive: true })
for (const [name, job] of Object.entries(examples)) {
  fs.writeFileSync(path.join(root, 'examples', `${name}.yaml`), YAML.stringify(job, { lineWidth: 0 }))
  fs.writeFileSync(path.join(root, 'examples', `${name}.json`), JSON.stringify(job, null, 2) + '\n')
}
console.log(`wrote ${Object.keys(examples).length * 2} files to examples/`)
