// /api/v1/orchestrator/*: HTTP decoding and response envelopes only. ID/name resolution,
// paging and Bacalhau's error codes belong to the OrchestratorApi (reference §1.6–1.7).
import type Router from '@koa/router'
import type { Context } from 'koa'
import { formatZodError } from '../../models/ci.js'
import { invalidRequest } from '../../models/errors.js'
import { SubmitJobRequestSchema } from '../../models/job.js'
import type { HistoryQuery, OrchestratorApi } from '../../orchestrator/service.js'
import { queryOf, readJsonBody, requireObjectBody, stringField } from '../request.js'
import { sendJson } from '../respond.js'

export const JOBS_BASE = '/api/v1/orchestrator/jobs'
const NODES_BASE = '/api/v1/orchestrator/nodes'

/** Cap on history items embedded by GET /jobs/{id}?include=history. */
const EMBEDDED_HISTORY_LIMIT = 100

const eventTypes = new Set(['all', 'job', 'execution'])

const LEGACY_GONE_MESSAGE =
  'This endpoint was removed in Bacalhau v1.5. Upgrade your client; jobs and nodes are now served ' +
  'under /api/v1/orchestrator (see https://docs.bacalhau.org/references/api).'

const headerValue = (ctx: Context, name: string) => ctx.get(name) || undefined

export function registerOrchestratorRoutes(router: Router, orch: OrchestratorApi): void {
  const submit = async (ctx: Context) => {
    const body = await readJsonBody(ctx)
    if (body === undefined || body === null) throw invalidRequest('empty/nil job')
    requireObjectBody(body)
    const parsed = SubmitJobRequestSchema.safeParse(body)
    if (!parsed.success) throw invalidRequest(formatZodError(parsed.error))
    if (!parsed.data.Job) throw invalidRequest('empty/nil job')
    const res = await orch.submitJob({
      job: parsed.data.Job,
      force: parsed.data.Force,
      clientInstallationId: headerValue(ctx, 'X-Bacalhau-InstallationID'),
      clientInstanceId: headerValue(ctx, 'X-Bacalhau-InstanceID'),
    })
    sendJson(ctx, 200, { JobID: res.JobID, EvaluationID: res.EvaluationID, Warnings: res.Warnings ?? null })
  }
  router.put(JOBS_BASE, submit)
  router.post(JOBS_BASE, submit)

  router.get(JOBS_BASE, (ctx) => {
    const q = queryOf(ctx)
    const page = orch.listJobs({
      namespace: q.string('namespace'),
      limit: q.uint32('limit'),
      nextToken: q.string('next_token'),
      orderBy: q.string('order_by'),
      reverse: q.bool('reverse'),
      labels: q.labels(),
    })
    sendJson(ctx, 200, { NextToken: page.NextToken ?? '', Items: page.Items })
  })

  router.get(`${JOBS_BASE}/:id`, (ctx) => {
    const q = queryOf(ctx)
    q.uint32('limit') // bound (so malformed values are rejected) but unused, as in Bacalhau
    const include = new Set((q.string('include') ?? '').split(',').map((s) => s.trim().toLowerCase()))
    const job = orch.getJob(ctx.params.id, q.string('namespace'))
    const out: Record<string, unknown> = { Job: job }
    if (include.has('history')) {
      const page = orch.jobHistory(job.ID, { namespace: job.Namespace, limit: EMBEDDED_HISTORY_LIMIT })
      out.History = { NextToken: '', Items: page.Items.slice(0, EMBEDDED_HISTORY_LIMIT) }
    }
    if (include.has('executions')) {
      const page = orch.jobExecutions(job.ID, { namespace: job.Namespace, orderBy: 'created_at' })
      out.Executions = { NextToken: '', Items: page.Items }
    }
    sendJson(ctx, 200, out)
  })

  router.delete(`${JOBS_BASE}/:id`, async (ctx) => {
    const q = queryOf(ctx)
    const body = await readJsonBody(ctx)
    requireObjectBody(body)
    // Bacalhau reads the reason from the body only; a body Namespace overrides the query.
    const reason = stringField(body, 'reason') ?? ''
    const namespace = stringField(body, 'Namespace') || q.string('namespace')
    const res = await orch.stopJob(ctx.params.id, reason, namespace)
    sendJson(ctx, 200, { EvaluationID: res.EvaluationID })
  })

  router.get(`${JOBS_BASE}/:id/history`, (ctx) => {
    const q = queryOf(ctx)
    const eventType = q.string('event_type')?.toLowerCase()
    if (eventType !== undefined && !eventTypes.has(eventType))
      throw invalidRequest(
        `invalid event_type ${JSON.stringify(eventType)}: must be one of all, job, execution`,
      )
    const page = orch.jobHistory(ctx.params.id, {
      namespace: q.string('namespace'),
      limit: q.uint32('limit'),
      nextToken: q.string('next_token'),
      since: q.nonNegativeInt('since'),
      eventType: eventType as HistoryQuery['eventType'],
      executionId: q.string('execution_id'),
    })
    sendJson(ctx, 200, { NextToken: page.NextToken ?? '', Items: page.Items })
  })

  router.get(`${JOBS_BASE}/:id/executions`, (ctx) => {
    const q = queryOf(ctx)
    const page = orch.jobExecutions(ctx.params.id, {
      namespace: q.string('namespace'),
      limit: q.uint32('limit'),
      orderBy: q.string('order_by'),
      reverse: q.bool('reverse'),
    })
    // Bacalhau accepts next_token here but never pages executions.
    sendJson(ctx, 200, { NextToken: '', Items: page.Items })
  })

  router.get(`${JOBS_BASE}/:id/versions`, (ctx) => {
    const q = queryOf(ctx)
    const page = orch.jobVersions(ctx.params.id, q.string('namespace'))
    sendJson(ctx, 200, { NextToken: '', Items: page.Items })
  })

  router.get(`${JOBS_BASE}/:id/results`, async (ctx) => {
    const q = queryOf(ctx)
    const page = await orch.jobResults(ctx.params.id, q.string('namespace'))
    // Pre-signed URLs carry '&'; Bacalhau disables HTML escaping for this endpoint only.
    sendJson(ctx, 200, { NextToken: '', Items: page.Items }, { escapeHtml: false })
  })

  // The log stream is served by the server's 'upgrade' listener; a plain GET lands here.
  router.get(`${JOBS_BASE}/:id/logs`, () => {
    throw invalidRequest(
      "websocket: the client is not using the websocket protocol: 'upgrade' token not found in 'Connection' header",
    )
  })

  router.get(NODES_BASE, (ctx) => {
    const q = queryOf(ctx)
    const nodes = orch.listNodes({
      limit: q.uint32('limit'),
      orderBy: q.string('order_by'),
      reverse: q.bool('reverse'),
      labels: q.labels(),
      filterApproval: q.string('filter-approval')?.toUpperCase(),
      filterStatus: q.string('filter-status')?.toUpperCase(),
    })
    sendJson(ctx, 200, { NextToken: '', Nodes: nodes })
  })

  router.get(`${NODES_BASE}/:id`, (ctx) => {
    sendJson(ctx, 200, { Node: orch.getNode(ctx.params.id) })
  })

  router.put(`${NODES_BASE}/:id`, async (ctx) => {
    const body = await readJsonBody(ctx)
    requireObjectBody(body)
    // The path ID is authoritative; body NodeID and Message are ignored, as in Bacalhau.
    await orch.nodeAction(ctx.params.id, stringField(body, 'Action') ?? '')
    sendJson(ctx, 200, { Success: true })
  })

  router.all('/api/v1/requester{/*rest}', (ctx) => sendJson(ctx, 410, LEGACY_GONE_MESSAGE))
}
