import { DAY_MS, HOUR_MS, MINUTE_MS } from '../catalog/catalog.ts';
import { ErrorCode, StrataError } from '../errors/strata-error.ts';
import type { Interval } from './query.ts';

/**
 * Parses the interval forms users know from the reference Metrics API:
 * `start/end`, `start/duration`, `duration/end`, where a timestamp may be
 * `now` with an offset (`now-6h`) and a UTC truncation (`now-1d|d`).
 * Pure: `now` is passed in.
 */
export function parseInterval(text: string, now: number): Interval {
  const parts = text.trim().split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw invalid(text, 'expected "start/end", e.g. "2026-11-23T00:00:00Z/2026-11-23T06:00:00Z" or "now-6h/now"');
  }
  const [left, right] = parts as [string, string];
  let start: number;
  let end: number;
  if (isDuration(left)) {
    end = parseInstant(right, now, text);
    start = end - parseDuration(left, text);
  } else if (isDuration(right)) {
    start = parseInstant(left, now, text);
    end = start + parseDuration(right, text);
  } else {
    start = parseInstant(left, now, text);
    end = parseInstant(right, now, text);
  }
  if (!(end > start)) throw invalid(text, 'the end must be after the start');
  return { start, end };
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?)?(Z|[+-]\d{2}:\d{2})?$/;
const NOW_FORM = /^now(?:([+-])(\d{1,6})([mhdw]))?(?:\|([mhd]))?$/;
const UNIT_MS: Record<string, number> = { m: MINUTE_MS, h: HOUR_MS, d: DAY_MS, w: 7 * DAY_MS };

function parseInstant(token: string, now: number, text: string): number {
  const nowMatch = NOW_FORM.exec(token);
  if (nowMatch) {
    const [, sign, amount, unit, truncate] = nowMatch;
    let t = now;
    if (sign && amount && unit) t += (sign === '-' ? -1 : 1) * Number(amount) * (UNIT_MS[unit] ?? 0);
    if (truncate) t = Math.floor(t / (UNIT_MS[truncate] ?? 1)) * (UNIT_MS[truncate] ?? 1);
    return t;
  }
  if (!ISO_INSTANT.test(token)) {
    throw invalid(
      text,
      `"${token}" is neither an ISO-8601 UTC timestamp (e.g. 2026-11-23T10:00:00Z) nor a "now" form (e.g. now-6h, now-1d|d)`,
    );
  }
  const needsZone = token.includes('T') && !/(Z|[+-]\d{2}:\d{2})$/.test(token);
  const t = Date.parse(needsZone ? `${token}Z` : token);
  if (!Number.isFinite(t) || !isCalendarDate(token)) throw invalid(text, `"${token}" is not a valid date`);
  return t;
}

/** V8 rolls a day past the month's end over (2026-02-30 becomes March 2): refuse it instead. */
function isCalendarDate(token: string): boolean {
  const [y, m, d] = token.slice(0, 10).split('-').map(Number) as [number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(y, m - 1, d);
  return date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

const DURATION = /^P(?:(\d{1,5})W)?(?:(\d{1,5})D)?(?:T(?:(\d{1,6})H)?(?:(\d{1,7})M)?)?$/;

function isDuration(token: string): boolean {
  return token.startsWith('P') && DURATION.test(token) && token !== 'P' && !token.endsWith('T');
}

function parseDuration(token: string, text: string): number {
  const m = DURATION.exec(token);
  if (!m) throw invalid(text, `"${token}" is not an ISO-8601 duration such as PT6H or P7D`);
  const [, w, d, h, min] = m;
  const ms = Number(w ?? 0) * 7 * DAY_MS + Number(d ?? 0) * DAY_MS + Number(h ?? 0) * HOUR_MS + Number(min ?? 0) * MINUTE_MS;
  if (ms <= 0) throw invalid(text, `the duration "${token}" must be positive`);
  return ms;
}

function invalid(text: string, why: string): StrataError {
  return new StrataError(ErrorCode.INVALID_INTERVAL, `Invalid interval "${text}": ${why}.`, { interval: text });
}

export const alignDown = (t: number, step: number): number => Math.floor(t / step) * step;
export const alignUp = (t: number, step: number): number => Math.ceil(t / step) * step;
export const isoOf = (t: number): string => new Date(t).toISOString();
export const intervalText = (i: Interval): string => `${isoOf(i.start)}/${isoOf(i.end)}`;
