import { ErrorCode, StrataError } from '../../errors/strata-error.ts';

/**
 * Refuses request input (GraphQL variables) nested deeper than `maxDepth`
 * objects and lists, before GraphQL coerces it: coercion recurses once per
 * level, and a `not` chain thousands deep overflows the stack (an INTERNAL
 * error) where a clear refusal belongs. The walk itself is iterative.
 */
export function refuseDeepInput(value: unknown, maxDepth: number, what = 'variables'): void {
  const stack: [unknown, number][] = [[value, 1]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [node, depth] = next;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > maxDepth) {
      throw new StrataError(
        ErrorCode.QUERY_TOO_COMPLEX,
        `The ${what} are nested more than ${maxDepth} levels deep; a filter needs at most 8. Flatten the input.`,
        { maxDepth },
      );
    }
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
}
