import pino, { type Logger } from 'pino';
import type { LogLevel } from './config.js';

/** Structured JSON logs on stderr-free stdout; secrets never reach them (see redactedConfig). */
export function createLogger(level: LogLevel): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
