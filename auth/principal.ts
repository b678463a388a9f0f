import { createHash } from 'node:crypto';
import type { TenantScope } from '../planner/query.ts';

export type Role = 'customer' | 'internal' | 'billing';
export const ROLES: readonly Role[] = ['customer', 'internal', 'billing'];

/** The verified caller. Built from a token only; never from query arguments. */
export interface Principal {
  readonly subject: string;
  readonly role: Role;
  /** Present for customers (their tenant); absent for internal and billing. */
  readonly tenantId: string | undefined;
}

/** Customers see their tenant; internal and billing roles widen the scope explicitly. */
export function scopeOf(principal: Principal): TenantScope {
  if (principal.role === 'customer' && principal.tenantId) return { kind: 'tenant', tenantId: principal.tenantId };
  return { kind: 'all' };
}

/**
 * The key of a caller's fair shares (quotas, in-flight slots, store slots,
 * breakers): its tenant for customers, its role and subject otherwise.
 */
export function callerKey(principal: Principal): string {
  return principal.tenantId !== undefined ? `t:${principal.tenantId}` : `${principal.role}:${principal.subject}`;
}

/** A token's identity for per-token shares: a hash, so the token itself is never kept as a key. */
export function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 22);
}
