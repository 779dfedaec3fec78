import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatJobDescription } from '../../src/cli/job.js'
import { nodeTable } from '../../src/cli/node.js'
import {
  formatCsv,
  formatElapsed,
  formatGoDuration,
  formatKeyValues,
  formatList,
  formatTable,
  shortId,
  toDate,
  toYaml,
} from '../../src/cli/output.js'
import { formatProgressEvent, progressHeader } from '../../src/cli/progress.js'
import type { Execution, JobHistory } from '../../src/models/execution.js'
import type { Job } from '../../src/models/job.js'
import type { NodeState } from '../../src/models/node.js'

describe('output formatting', () => {
  it('shortens IDs like Bacalhau', () => {
    assert.equal(shortId('j-1f2e3d4c-aaaa-4bbb-8ccc-123456789abc'), 'j-1f2e3d4c')
    assert.equal(shortId('e-3a1f0c3e-0000-4000-8000-000000000000'), 'e-3a1f0c3e')
    assert.equal(shortId('0b6d1234-0000-4000-8000-000000000000'), '0b6d1234')
    assert.equal(shortId('my-hostname'), 'my-hostname')
    assert.equal(shortId(undefined), '')
  })

  it('draws borderless tables with upper-case headers', () => {
    const t = formatTable(
      ['Created', 'ID', 'State'],
      [
        ['10:00:00', 'j-1', 'Completed'],
        ['10:00:01', 'j-22', 'Running'],
      ],
    )
    assert.equal(t, ' CREATED   ID    STATE\n 10:00:00  j-1   Completed\n 10:00:01  j-22  Running\n')
    assert.equal(formatTable(['A', 'B'], [['x', 'y']], { hideHeader: true }), ' x  y\n')
    assert.equal(formatTable(['A', 'B'], [['multi\nline', 'y']]), ' A      B\n multi  y\n line\n')
  })

  it('writes CSV with quoting', () => {
    assert.equal(
      formatCsv(
        ['Name', 'Note'],
        [
          ['a', 'x,y'],
          ['b', 'say "hi"'],
        ],
      ),
      'NAME,NOTE\na,"x,y"\nb,"say ""hi"""\n',
    )
    assert.equal(formatCsv(['A'], [['1']], true), '1\n')
  })

  it('writes JSON and YAML with exact int64 times', () => {
    const items = [{ ID: 'j-1', CreateTime: 1735787045123456789n }]
    assert.equal(
      formatList(['ID'], [['j-1']], items, { format: 'json' }),
      '[{"ID":"j-1","CreateTime":1735787045123456789}]\n',
    )
    assert.match(toYaml(items), /CreateTime: 1735787045123456789/)
  })

  it('pads key = value lines and drops empty values', () => {
    assert.equal(
      formatKeyValues([
        ['ID', 'j-1'],
        ['Name', ''],
        ['Namespace', 'default'],
      ]),
      'ID        = j-1\nNamespace = default\n',
    )
  })

  it('formats durations and times like Go', () => {
    assert.equal(formatGoDuration(0), '0s')
    assert.equal(formatGoDuration(125_000), '2m5s')
    assert.equal(formatGoDuration(3_600_000), '1h0m0s')
    assert.equal(formatElapsed(new Date(1000), 10_000), '9s ago')
    assert.equal(toDate(1735787045123456789n)?.getTime(), 1735787045123)
    assert.equal(toDate('2025-01-02T03:04:05.123456789Z')?.getTime(), Date.parse('2025-01-02T03:04:05.123Z'))
    assert.equal(toDate(0), undefined)
  })
})

const t0 = Date.parse('2025-01-02T10:00:00Z')
const ns = (ms: number) => BigInt(ms) * 1_000_000n
const hist = (
  seq: number,
  type: 'JobLevel' | 'ExecutionLevel',
  topic: string,
  message: string,
  details?: Record<string, string>,
  execId?: string,
): JobHistory => ({
  SeqNum: seq,
  Type: type,
  JobID: 'j-1f2e3d4c-aaaa-4bbb-8ccc-123456789abc',
  JobVersion: 1,
  ExecutionID: execId,
  Event: {
    Message: message,
    Topic: topic,
    Timestamp: new Date(t0 + seq * 1000).toISOString(),
    Details: details,
  },
  Time: new Date(t0 + seq * 1000).toISOString(),
})

describe('progress rows', () => {
  it('prints time, short execution ID, topic and event, with Error:/Hint: for errors', () => {
    assert.match(progressHeader(), /^ TIME {10}EXEC\. ID {4}TOPIC {18}EVENT\n$/)
    const row = formatProgressEvent(
      hist(1, 'ExecutionLevel', 'Execution', 'Running', undefined, 'e-3a1f0c3e-0000-4000-8000-000000000000'),
    )
    assert.match(row, /^ \d\d:\d\d:\d\d\.000 {2}e-3a1f0c3e {2}Execution {14}Running\n$/)
    const err = formatProgressEvent(
      hist(2, 'JobLevel', 'Scheduling', 'not enough nodes\n• Node n-1: busy', {
        IsError: 'true',
        Hint: 'add nodes',
      }),
    )
    const lines = err.split('\n')
    assert.match(lines[0], /Scheduling {13}Error: not enough nodes$/)
    assert.equal(lines[1].indexOf('•'), lines[0].indexOf('Error:'))
    assert.match(lines[2], /^ {50}Hint: add nodes$/)
  })
})

describe('job describe layout', () => {
  it('shows the job, summary, history, executions and output', () => {
    const job = {
      ID: 'j-1f2e3d4c-aaaa-4bbb-8ccc-123456789abc',
      Name: 'hello',
      Namespace: 'default',
      Type: 'batch',
      Count: 1,
      State: { StateType: 'Completed' },
      Version: 1,
      CreateTime: ns(t0),
      ModifyTime: ns(t0 + 7000),
      Tasks: [],
    } as unknown as Job
    const exec = {
      ID: 'e-3a1f0c3e-0000-4000-8000-000000000000',
      NodeID: 'n-7b000000-0000-4000-8000-000000000000',
      ComputeState: { StateType: 9 },
      DesiredState: { StateType: 2 },
      Revision: 6,
      CreateTime: ns(t0 + 1000),
      ModifyTime: ns(t0 + 5000),
      RunOutput: {
        Stdout: 'hello\n',
        stderr: '',
        StdoutTruncated: false,
        StderrTruncated: false,
        ExitCode: 0,
        ErrorMsg: '',
      },
    } as unknown as Execution
    const history = [
      hist(1, 'JobLevel', 'Submission', 'Job submitted'),
      hist(2, 'ExecutionLevel', 'Execution', 'Completed successfully', undefined, exec.ID),
    ]
    const text = formatJobDescription(job, history, [exec], t0 + 10_000)
    assert.match(text, /^ID {12}= j-1f2e3d4c-aaaa-4bbb-8ccc-123456789abc\nName {10}= hello\n/)
    assert.match(text, /\nCount {9}= 1\n/)
    assert.match(text, /\nSummary\nCompleted = 1\n/)
    assert.match(
      text,
      /\nJob History\n TIME {17}TOPIC {7}EVENT\n \d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}Submission {2}Job submitted\n/,
    )
    assert.match(
      text,
      /\nExecutions\n ID {10}NODE ID {5}STATE {6}DESIRED {2}REV\. {2}CREATED {2}MODIFIED {2}COMMENT\n e-3a1f0c3e {2}n-7b000000 {2}Completed {2}Stopped {2}6 {5}9s ago {3}5s ago\n/,
    )
    assert.match(text, /\nExecution e-3a1f0c3e History\n/)
    assert.match(text, /\nStandard Output\nhello\n$/)
  })
})

describe('node list table', () => {
  it('shows capacity for compute nodes only', () => {
    const nodes = [
      {
        Info: {
          NodeID: 'n-7b000000-0000-4000-8000-000000000000',
          NodeType: 'Compute',
          Labels: { zone: 'a', arch: 'x' },
          ComputeNodeInfo: {
            AvailableCapacity: { CPU: 1.5, Memory: 6.4e9, Disk: 1e9, GPU: 0 },
            MaxCapacity: { CPU: 2, Memory: 8e9, Disk: 2e9, GPU: 0 },
          },
        },
        Membership: 'APPROVED',
        ConnectionState: { Status: 'CONNECTED' },
      },
      {
        Info: { NodeID: 'n-8c000000-0000-4000-8000-000000000000', NodeType: 'Requester', Labels: {} },
        Membership: 'APPROVED',
        ConnectionState: { Status: 'CONNECTED' },
      },
    ] as unknown as NodeState[]
    const t = nodeTable(nodes, ['labels', 'capacity'], false)
    assert.deepEqual(t.columns, [
      'ID',
      'Type',
      'Approval',
      'Status',
      'Labels',
      'CPU',
      'Memory',
      'Disk',
      'GPU',
    ])
    assert.deepEqual(t.rows[0], [
      'n-7b000000',
      'Compute',
      'APPROVED',
      'CONNECTED',
      'arch=x zone=a',
      '1.5 / 2.0',
      '6.4 GB / 8.0 GB',
      '1.0 GB / 2.0 GB',
      '0 / 0',
    ])
    assert.deepEqual(t.rows[1].slice(5), ['', '', '', ''])
  })
})
