import { createHash } from 'node:crypto';
import { ErrorCode, StrataError } from '../errors/strata-error.ts';
import { scopeId, type TenantScope } from '../planner/query.ts';

export type Role = 'customer' | 'internal' | 'billing' | 'collector';
export const ROLES: readonly Role[] = ['customer', 'internal', 'billing', 'collector'];

/**
 * The verified caller. Built from a token only; never from query arguments.
 * A customer always has its tenant: a customer without one cannot be built,
 * so no code path can fall back to another scope for it. A collector (an
 * OpenTelemetry Collector or agent) writes telemetry for any registered
 * cluster and reads nothing, so it is not a reader (see `asReader`).
 */
export type Principal =
  | { readonly role: 'customer'; readonly subject: string; readonly tenantId: string }
  | { readonly role: 'internal' | 'billing'; readonly subject: string; readonly tenantId?: undefined }
  | { readonly role: 'collector'; readonly subject: string; readonly tenantId?: undefined };

/** A principal that may read (GraphQL, /export, subscriptions): every role but the collector. */
export type Reader = Exclude<Principal, { readonly role: 'collector' }>;
/** A principal that may write telemetry (POST /v1/metrics): collectors, and customers for their own clusters. */
export type Writer = Extract<Principal, { readonly role: 'customer' | 'collector' }>;

/** The principal a verified role, subject and tenant claim make. */
export function principalFor(role: Role, subject: string, tenantId: string | undefined): Principal {
  if (role !== 'customer') return { role, subject };
  if (!tenantId) throw new Error('a customer principal needs its tenant');
  return { role, subject, tenantId };
}

/** The read routes' gate: a collector's token writes telemetry only, so a leaked one reads nothing (403). */
export function asReader(principal: Principal): Reader {
  if (principal.role !== 'collector') return principal;
  throw new StrataError(
    ErrorCode.FORBIDDEN,
    'The collector role writes telemetry (POST /v1/metrics) and reads nothing; use a customer or internal token to read.',
  );
}

/** The write route's gate: internal and billing tokens read only (403). */
export function asWriter(principal: Principal): Writer {
  if (principal.role === 'customer' || principal.role === 'collector') return principal;
  throw new StrataError(
    ErrorCode.FORBIDDEN,
    `The ${principal.role} role cannot write telemetry; POST /v1/metrics is for: collector (any registered cluster), customer (its own clusters).`,
  );
}

/** Customers see their tenant; internal and billing roles widen the scope explicitly. */
export function scopeOf(principal: Reader): TenantScope {
  return principal.role === 'customer' ? { kind: 'tenant', tenantId: principal.tenantId } : { kind: 'all' };
}

/** The clusters a writer may write: a customer its own tenant's, a collector every registered one. */
export function writeScopeOf(principal: Writer): TenantScope {
  return principal.role === 'customer' ? { kind: 'tenant', tenantId: principal.tenantId } : { kind: 'all' };
}

/**
 * The key of a caller's fair shares (quotas, in-flight slots, store slots,
 * breakers): its tenant for customers, its role and subject otherwise.
 */
export function callerKey(principal: Principal): string {
  return principal.role === 'customer'
    ? scopeId({ kind: 'tenant', tenantId: principal.tenantId })
    : `${principal.role}:${principal.subject}`;
}

/** A token's identity for per-token shares: a hash, so the token itself is never kept as a key. */
export function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 22);
}
