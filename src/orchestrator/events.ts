// History events with Bacalhau's topics and messages (bacalhau-behaviour.md §3.13).
import type { HistoryEvent } from '../models/execution.js'

export const Topic = {
  Submission: 'Submission',
  StateUpdate: 'State Update',
  Scheduling: 'Scheduling',
  Queueing: 'Queueing',
  ExecTimeout: 'Exec Timeout',
  JobTimeout: 'Job Timeout',
  Execution: 'Execution',
  Restart: 'Restart',
} as const

export function event(topic: string, message: string, details?: Record<string, string>): HistoryEvent {
  const e: HistoryEvent = { Message: message, Topic: topic, Timestamp: new Date().toISOString() }
  if (details && Object.keys(details).length) e.Details = details
  return e
}

export const errorEvent = (topic: string, message: string, details: Record<string, string> = {}) =>
  event(topic, message, { IsError: 'true', ...details })
