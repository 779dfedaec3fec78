// One structured logger for the whole process (pino). Components take a child logger.
import { pino, type Logger } from 'pino'

export type { Logger }

let root: Logger | undefined

export function createLogger(opts: { level?: string; json?: boolean; destination?: number } = {}): Logger {
  const level = (opts.level ?? process.env.LOG_LEVEL ?? 'info').toLowerCase()
  root = pino(
    { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination(opts.destination ?? 2),
  )
  return root
}

export function logger(): Logger {
  if (!root) root = pino({ level: process.env.LOG_LEVEL?.toLowerCase() ?? 'silent' }, pino.destination(2))
  return root
}
