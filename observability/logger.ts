import { pino, type DestinationStream } from 'pino';
import { mergeTraceFields, traceFields } from './log-context.ts';

export interface Logger {
  /** One structured entry: `level` and `msg` plus any fields. */
  readonly write: (entry: Record<string, unknown>) => void;
  readonly info: (msg: string, fields?: Record<string, unknown>) => void;
  readonly warn: (msg: string, fields?: Record<string, unknown>) => void;
  readonly error: (msg: string, fields?: Record<string, unknown>) => void;
}

type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/**
 * JSON logs to stderr (stdout stays for what a person reads at start-up), or
 * to `destination` (tests capture lines). A line written inside a traced span
 * carries its `trace_id` and `span_id`.
 */
export function createLogger(level: Level, destination: DestinationStream = pino.destination(2)): Logger {
  const base = pino({ level, base: { service: 'strata' }, mixin: traceFields, mixinMergeStrategy: mergeTraceFields }, destination);
  const write = (entry: Record<string, unknown>): void => {
    const { level: l = 'info', msg = '', ...fields } = entry;
    const method = l === 'debug' || l === 'warn' || l === 'error' ? l : 'info';
    base[method](fields, String(msg));
  };
  return {
    write,
    info: (msg, fields = {}) => base.info(fields, msg),
    warn: (msg, fields = {}) => base.warn(fields, msg),
    error: (msg, fields = {}) => base.error(fields, msg),
  };
}
