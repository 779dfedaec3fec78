// S3 on a devstack of separate processes against a real S3-protocol server (s3rver on
// loopback): a job reads s3://bucket/prefix*, publishes to S3, and `job get` brings the
// published results back through a pre-signed URL.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import { startDevstack, type Devstack } from '../../src/devstack/launcher.js'
import { projectRoot } from '../../src/util/paths.js'
import { api, runCli, waitForJobState } from '../helpers/node-process.js'
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js'

describe('S3 inputs and publisher on a devstack', () => {
  let s3: S3TestServer
  let stack: Devstack
  const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' }
  before(async () => {
    s3 = await startS3Server()
    await s3.client.send(new CreateBucketCommand({ Bucket: 'data' }))
    await s3.client.send(new CreateBucketCommand({ Bucket: 'results' }))
    for (const [key, body] of [
      ['logs/a.txt', 'line from a\n'],
      ['logs/b.txt', 'line from b\n'],
      ['other/c.txt', 'not selected\n'],
    ])
      await s3.client.send(new PutObjectCommand({ Bucket: 'data', Key: key, Body: body }))
    stack = await startDevstack({ orchestrators: 1, computes: 2, hybrids: 0, env })
  })
  after(async () => {
    await stack?.stop()
    if (stack) fs.rmSync(stack.baseDir, { recursive: true, force: true })
    await s3?.stop()
  })

  it('reads s3://data/logs/*, publishes to s3://results, and job get retrieves it', async () => {
    const port = stack.nodes[0].apiPort
    const opts = `opt=endpoint=${s3.endpoint},opt=region=us-east-1`
    const wc = path.join(projectRoot(), 'fixtures/wasm/wordcount.wasm')
    const run = await runCli(
      [
        'wasm',
        'run',
        '--id-only',
        '-i',
        `src=s3://data/logs/*,dst=/inputs,${opts}`,
        '-p',
        `s3://results/jobs/{jobID},${opts}`,
        '-o',
        'outputs:/outputs',
        wc,
        '/inputs/a.txt',
      ],
      { port, env },
    )
    assert.equal(run.code, 0, run.stderr)
    const id = run.stdout.trim()
    const job = await waitForJobState(stack.nodes[0], id, ['Completed', 'Failed'])
    assert.equal(job.State.StateType, 'Completed')

    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: 'results', Prefix: `jobs/${id}` }))
    assert.deepEqual(
      listed.Contents?.map((o) => o.Key),
      [`jobs/${id}.tar.gz`],
    )
    const results = await api(stack.nodes[0], 'GET', `/api/v1/orchestrator/jobs/${id}/results`)
    assert.equal(results.body.Items[0].Type, 's3PreSigned')

    const out = fs.mkdtempSync(path.join(os.tmpdir(), 's3get-'))
    const get = await runCli(['job', 'get', id, '--output-dir', out], { port })
    assert.equal(get.code, 0, get.stderr)
    const stdout = fs.readFileSync(path.join(out, 'stdout'), 'utf8')
    assert.equal(stdout, 'bytes=12 lines=1\n') // /inputs/a.txt holds one 12-byte line
    assert.equal(fs.readFileSync(path.join(out, 'exitCode'), 'utf8'), '0')
    assert.ok(fs.statSync(path.join(out, 'outputs')).isDirectory())
    fs.rmSync(out, { recursive: true, force: true })
  })

  it('fails a job whose S3 key does not exist, naming the bucket and key', async () => {
    const res = await api(stack.nodes[0], 'PUT', '/api/v1/orchestrator/jobs', {
      Job: {
        Type: 'batch',
        Name: 'missing-key',
        Tasks: [
          {
            Name: 'main',
            Engine: { Type: 'noop' },
            InputSources: [
              {
                Target: '/in',
                Source: {
                  Type: 's3',
                  Params: { Bucket: 'data', Key: 'nope.txt', Endpoint: s3.endpoint, Region: 'us-east-1' },
                },
              },
            ],
          },
        ],
      },
    })
    const job = await waitForJobState(stack.nodes[0], res.body.JobID, ['Failed', 'Completed'])
    assert.equal(job.State.StateType, 'Failed')
    const execs = await api(stack.nodes[0], 'GET', `/api/v1/orchestrator/jobs/${res.body.JobID}/executions`)
    assert.match(execs.body.Items[0].ComputeState.Message, /s3:\/\/data\/nope\.txt/)
  })
})
