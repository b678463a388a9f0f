import { randomBytes } from 'node:crypto';

/** A W3C trace context header (version 00, sampled) for a new trace. */
export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The header if it is well formed, else undefined (a bad header is ignored, never trusted). */
export function parseTraceparent(value: string | undefined): string | undefined {
  return value && TRACEPARENT.test(value) && !value.includes('-00000000000000000000000000000000-') ? value : undefined;
}
