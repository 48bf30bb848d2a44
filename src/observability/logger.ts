// One pino logger for the process; modules take a child with their own `component` field.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { app: 'zk-xds' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Defence in depth: credentials must never be logged, whatever a caller passes.
    redact: { paths: ['auth', '*.auth', 'password', '*.password', 'credentials', '*.credentials', 'token', '*.token'], censor: '[redacted]' },
  });
}

/** A logger that drops everything (unit tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
