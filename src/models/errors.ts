// Errors that carry Bacalhau's APIError fields, so every layer can throw one and the
// REST API can render it unchanged.

export type ErrorCode =
  | 'BadRequest'
  | 'ValidationError'
  | 'NotFound'
  | 'Unauthorized'
  | 'Forbidden'
  | 'ServiceUnavailable'
  | 'NotImplemented'
  | 'ResourceExhausted'
  | 'ResourceInUse'
  | 'InternalError'
  | 'ConflictJobState'
  | 'MultipleJobsFound'
  | 'MultipleNodesFound'
  | 'ConflictNodeState'
  | ''

const statusByCode: Record<string, number> = {
  BadRequest: 400,
  ValidationError: 400,
  NotFound: 404,
  Unauthorized: 401,
  Forbidden: 403,
  ServiceUnavailable: 503,
  NotImplemented: 501,
  ResourceExhausted: 429,
  ResourceInUse: 409,
  MultipleNodesFound: 409,
  ConflictNodeState: 409,
}

export interface BacalhauErrorInit {
  code?: ErrorCode
  status?: number
  component?: string
  hint?: string
  details?: Record<string, string>
}

export class BacalhauError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly component: string
  readonly hint?: string
  readonly details?: Record<string, string>

  constructor(message: string, init: BacalhauErrorInit = {}) {
    super(message)
    this.name = 'BacalhauError'
    this.code = init.code ?? ''
    this.status = init.status ?? statusByCode[this.code] ?? 500
    this.component = init.component ?? 'Bacalhau'
    this.hint = init.hint
    this.details = init.details
  }
}

export const notFound = (message: string, component = 'JobStore') =>
  new BacalhauError(message, { code: 'NotFound', component })

export const badRequest = (message: string, component = 'APIServer') =>
  new BacalhauError(message, { code: 'BadRequest', component })

/** Request-level validation failure: Bacalhau answers 400 with Code InternalError. */
export const invalidRequest = (message: string) =>
  new BacalhauError(message, { code: 'InternalError', status: 400, component: 'APIServer' })
