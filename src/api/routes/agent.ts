// /api/v1/agent/*: served by every node (reference §1.5).
import type Router from '@koa/router'
import { buildVersionInfo } from '../../models/version.js'
import { sendJson } from '../respond.js'
import type { AgentApi } from '../server.js'

export const MASK = '********'

// Key names whose values are secrets: auth tokens, user passwords, API keys, cloud secrets.
const secretKey = /(token|tokens|password|passwords|apikey|apikeys|secret|secrets|secretaccesskey)$/i

/** Copies a config value, replacing every non-empty string under a secret-named key. */
export function maskSecrets(value: unknown, underSecret = false): unknown {
  if (typeof value === 'string') return underSecret && value !== '' ? MASK : value
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, underSecret))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = maskSecrets(v, underSecret || secretKey.test(k.replace(/[-_]/g, '')))
    }
    return out
  }
  return value
}

export function registerAgentRoutes(router: Router, agent: AgentApi): void {
  const base = '/api/v1/agent'
  router.get(`${base}/alive`, (ctx) => sendJson(ctx, 200, { Status: 'OK' }))
  router.get(`${base}/version`, (ctx) => sendJson(ctx, 200, buildVersionInfo()))
  router.get(`${base}/node`, (ctx) => sendJson(ctx, 200, agent.nodeInfo()))
  router.get(`${base}/debug`, (ctx) => sendJson(ctx, 200, agent.debug?.() ?? {}))
  router.get(`${base}/config`, (ctx) => sendJson(ctx, 200, { config: maskSecrets(agent.config()) }))
  // No OAuth2 provider is configured; every Config key is omitempty.
  router.get(`${base}/authconfig`, (ctx) => sendJson(ctx, 200, { Version: '1.0.0', Config: {} }))
}
