/**
 * How many cases a property test runs: all of them in `npm test`, a fifth
 * (at least 20) in the fast tier (`npm run test:unit`, STRATA_TEST_TIER=fast),
 * whose point is minutes of feedback on every change. Same seeds either way,
 * so the fast tier's cases are the first of the full run's.
 */
export const propertyRuns = (full: number): number =>
  process.env['STRATA_TEST_TIER'] === 'fast' ? Math.max(20, Math.ceil(full / 5)) : full;
