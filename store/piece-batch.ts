import { alignDown } from '../planner/interval.ts';
import type { Piece } from '../planner/pieces.ts';
import type { Interval, PartialRow } from '../planner/query.ts';

/**
 * Store-agnostic batching: pieces of one shape whose intervals touch are read
 * by one branch of the store query (one scan instead of one per chunk), and
 * the branch's rows are handed back to the pieces by bucket.
 */
export interface Branch {
  readonly id: string;
  readonly sample: Piece;
  readonly interval: Interval;
  readonly pieces: readonly Piece[];
}

export function branchesOf(pieces: readonly Piece[]): Branch[] {
  const byShape = new Map<string, Piece[]>();
  const unique = new Map(pieces.map((p) => [p.key, p]));
  for (const piece of unique.values()) {
    const list = byShape.get(piece.shape) ?? [];
    list.push(piece);
    byShape.set(piece.shape, list);
  }
  const branches: Branch[] = [];
  for (const list of byShape.values()) {
    list.sort((a, b) => a.interval.start - b.interval.start);
    let run: Piece[] = [];
    const flush = (): void => {
      const first = run[0];
      const last = run[run.length - 1];
      if (!first || !last) return;
      branches.push({ id: `b${branches.length}`, sample: first, interval: { start: first.interval.start, end: last.interval.end }, pieces: run });
      run = [];
    };
    for (const piece of list) {
      const last = run[run.length - 1];
      // Join only at bucket boundaries: a bucket split between two pieces would be read once for both.
      const joins = last && last.interval.end === piece.interval.start && piece.interval.start % piece.bucketMs === 0;
      if (!joins) flush();
      run.push(piece);
    }
    flush();
  }
  return branches;
}

/** Gives each piece of a branch the rows whose bucket falls in it; every piece gets a list, maybe empty. */
export function distribute(branch: Branch, rows: readonly PartialRow[], into: Map<string, PartialRow[]>): void {
  const slots = branch.pieces.map((p) => ({ from: alignDown(p.interval.start, p.bucketMs), to: p.interval.end, rows: [] as PartialRow[] }));
  for (const row of rows) {
    const slot = slots.find((s) => row.bucket >= s.from && row.bucket < s.to);
    if (slot) slot.rows.push(row);
  }
  branch.pieces.forEach((p, i) => into.set(p.key, slots[i]?.rows ?? []));
}

/** Splits one store answer (rows tagged with their branch id) into per-piece row lists. */
export function distributeRows<R extends Record<string, unknown>>(
  branches: readonly Branch[],
  rows: readonly R[],
  toPartialRow: (row: R) => PartialRow,
): Map<string, PartialRow[]> {
  const byBranch = new Map<string, PartialRow[]>();
  for (const row of rows) {
    const id = String(row['branch']);
    const list = byBranch.get(id) ?? [];
    list.push(toPartialRow(row));
    byBranch.set(id, list);
  }
  const result = new Map<string, PartialRow[]>();
  for (const branch of branches) distribute(branch, byBranch.get(branch.id) ?? [], result);
  return result;
}
