/**
 * What the hostile tenant's attacks share (test/helpers/hostile-tenant.ts and
 * hostile-sockets.ts): the target, the tally of outcomes printed at the end,
 * and the small helpers of every attack.
 */
export interface Target {
  readonly url: string;
  readonly port: number;
  readonly tokens: readonly string[];
  readonly clusters: readonly string[];
  readonly deadline: number;
  readonly stop: AbortController;
}

export const tallies: Record<string, Record<string, number>> = {};
export const count = (attack: string, outcome: string): void => {
  const t = (tallies[attack] ??= {});
  t[outcome] = (t[outcome] ?? 0) + 1;
};
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));
export const live = (t: Target): boolean => Date.now() < t.deadline && !t.stop.signal.aborted;
export const tokenOf = (t: Target, n: number): string => t.tokens[n % t.tokens.length] ?? '';
export const codeOf = (text: string): string | undefined => /"code":"([A-Z_]+)"/.exec(text)?.[1];
