import type { AppliedAggregation } from '../../events/aggregation-listener.ts';
import type { WatermarkRegistry } from '../../events/watermark-registry.ts';
import { scopesOfTenants } from '../../planner/query.ts';

/**
 * When whole answers replayed by the response cache go out of date, per
 * tenant scope. An applied event changes the data of the tenants it names
 * (and so of the all-tenants scope internal dashboards read); an event that
 * moves a watermark changes how every query is routed (its `plan`), so it
 * outdates every scope. Each count only grows, so their sum changes whenever
 * either does: an entry made under another sum is never served.
 */
export class ResponseEpochs {
  private everyone = 0;
  private readonly byScope = new Map<string, number>();
  private lastMarks: string;

  constructor(private readonly watermarks: WatermarkRegistry) {
    this.lastMarks = JSON.stringify(watermarks.snapshot());
  }

  /** The epoch of a scope id (`t:<tenant>` or `*`). */
  readonly of = (scope: string): number => this.everyone + (this.byScope.get(scope) ?? 0);

  /** Called after the listener applied an event (caches invalidated, watermark advanced). */
  readonly applied = (event: AppliedAggregation): void => {
    const marks = JSON.stringify(this.watermarks.snapshot());
    if (marks !== this.lastMarks) {
      this.lastMarks = marks;
      this.everyone += 1;
      return;
    }
    for (const scope of scopesOfTenants(event.tenants)) this.byScope.set(scope, (this.byScope.get(scope) ?? 0) + 1);
  };
}
