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
