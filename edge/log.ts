// Structured JSON logging for every edge (pino). Secrets never reach a log line: known secret-bearing
// fields are redacted wherever they appear.
import { pino, type Logger } from 'pino';

export type { Logger };

/** REDACTED_PATHS are fields whose values never appear in logs. */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'authPassword',
  '*.authPassword',
  'auth_password',
  '*.auth_password',
  '*.*.auth_password',
  'data',
  '*.data',
  'stringData',
];

/** createLogger returns a JSON logger named after the program, at the given level. */
export function createLogger(name: string, level = 'info'): Logger {
  return pino({
    name,
    level,
    base: { program: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  });
}
