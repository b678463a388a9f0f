import { ErrorCode, StrataError } from '../errors/strata-error.ts';
import type { CanonicalQuery } from '../planner/query.ts';
import { topConjuncts } from '../planner/rules.ts';
import type { ResourceDirectory } from './resource-directory.ts';

/**
 * A customer must name the cluster(s) a query reads, as with the reference
 * Metrics API, and may name only their own. A foreign cluster gets exactly the
 * error a missing one gets, so ids cannot be probed. Other roles may name any
 * existing cluster.
 */
export function authorizeResources(query: CanonicalQuery, directory: ResourceDirectory): void {
  const named = topConjuncts(query.filter).flatMap((f) =>
    f.kind === 'field' && f.field === 'resource_id' && (f.op === 'EQ' || f.op === 'IN') ? [f.values] : [],
  );
  if (query.scope.kind === 'tenant' && named.length === 0) {
    throw new StrataError(
      ErrorCode.RESOURCE_FILTER_REQUIRED,
      'Customer queries must name their cluster(s): add a filter such as {field: "resource_id", op: EQ, value: "lkc-…"} (list yours with `resources`).',
    );
  }
  for (const id of named.flat()) {
    const owner = directory.ownerOf(id);
    if (owner === undefined || (query.scope.kind === 'tenant' && owner !== query.scope.tenantId)) {
      throw new StrataError(
        ErrorCode.RESOURCE_NOT_FOUND,
        `Cluster "${id}" was not found. List the clusters you can query with \`resources\`.`,
        { resourceId: id },
      );
    }
  }
}
