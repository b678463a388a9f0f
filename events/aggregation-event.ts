import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { CATALOG, findMetric, rollupNames, type RollupName } from '../catalog/catalog.ts';
import type { Interval } from '../planner/query.ts';

/** The `aggregation.published` contract (DESIGN.md section 4), version 1. */
const EventSchema = z.object({
  type: z.literal('aggregation.published'),
  version: z.literal(1),
  eventId: z.string().min(1).max(128),
  // Checked against the consumer's catalog in parseAggregationEvent.
  datasource: z.string().min(1).max(64),
  interval: z.string().regex(/^[^/]+\/[^/]+$/),
  tenants: z.array(z.string().min(1).max(64)).min(1).max(10_000),
  // Events name catalog names only (an OTel name is an alias for clients, not an event's key).
  metrics: z.array(z.string().refine((m) => findMetric(m)?.name === m, 'unknown metric')).min(1),
  publishedAt: z.iso.datetime({ offset: true }),
});

export type AggregationEvent = z.infer<typeof EventSchema>;

export interface ValidEvent {
  readonly event: AggregationEvent;
  readonly datasource: RollupName;
  readonly interval: Interval;
}

export type ParseResult = { readonly ok: true; readonly value: ValidEvent } | { readonly ok: false; readonly reason: string };

/**
 * Validates an event from the wire against the rollups the consumer knows;
 * never throws, so a poison message cannot crash a consumer.
 */
export function parseAggregationEvent(raw: unknown, rollups: readonly RollupName[] = rollupNames(CATALOG)): ParseResult {
  let data = raw;
  if (typeof raw === 'string' || raw instanceof Uint8Array) {
    try {
      data = JSON.parse(typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8'));
    } catch {
      return { ok: false, reason: 'not JSON' };
    }
  }
  const parsed = EventSchema.safeParse(data);
  if (!parsed.success) return { ok: false, reason: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  if (!rollups.includes(parsed.data.datasource)) {
    return { ok: false, reason: `datasource: "${parsed.data.datasource}" is not a rollup of this catalog (${rollups.join(', ')})` };
  }
  const [start, end] = parsed.data.interval.split('/').map((t) => Date.parse(t));
  if (start === undefined || end === undefined || !Number.isFinite(start) || !Number.isFinite(end) || end <= start) {
    return { ok: false, reason: `interval "${parsed.data.interval}" is not start/end in ISO-8601` };
  }
  return { ok: true, value: { event: parsed.data, datasource: parsed.data.datasource, interval: { start, end } } };
}

export function newAggregationEvent(
  datasource: RollupName,
  interval: Interval,
  tenants: string[],
  metrics: string[],
  now: number,
): AggregationEvent {
  return {
    type: 'aggregation.published',
    version: 1,
    eventId: randomUUID(),
    datasource,
    interval: `${new Date(interval.start).toISOString()}/${new Date(interval.end).toISOString()}`,
    tenants,
    metrics,
    publishedAt: new Date(now).toISOString(),
  };
}
