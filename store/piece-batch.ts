import { GROUP_KEYS, type GroupKey } from '../catalog/catalog.ts';
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
    const slot = slots[slotOf(slots, row.bucket)];
    if (slot && row.bucket >= slot.from && row.bucket < slot.to) slot.rows.push(row);
  }
  branch.pieces.forEach((p, i) => into.set(p.key, slots[i]?.rows ?? []));
}

/** The last slot starting at or before `bucket` (slots are in time order and disjoint): a binary search, as a branch may hold hundreds of pieces. */
function slotOf(slots: readonly { readonly from: number }[], bucket: number): number {
  let lo = 0;
  let hi = slots.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((slots[mid]?.from ?? Infinity) <= bucket) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Splits one store answer (rows tagged with their branch id) into per-piece row lists. */
export function distributeRows(branches: readonly Branch[], rows: readonly Record<string, unknown>[], options: RowOptions = {}): Map<string, PartialRow[]> {
  const byBranch = new Map<string, PartialRow[]>();
  for (const row of rows) {
    const id = String(row['branch']);
    const list = byBranch.get(id) ?? [];
    list.push(partialRowOf(row, options));
    byBranch.set(id, list);
  }
  const result = new Map<string, PartialRow[]>();
  for (const branch of branches) distribute(branch, byBranch.get(branch.id) ?? [], result);
  return result;
}

export interface RowOptions {
  /** Druid 27 (default-value null handling) returns null labels as '': treat '' as absent too. */
  readonly emptyLabelIsAbsent?: boolean;
}

/** A store row (columns bucket, the group keys, v_sum, v_min, v_max, minutes, samples) as a partial state. */
export function partialRowOf(row: Record<string, unknown>, options: RowOptions = {}): PartialRow {
  // Hot: called once per row of every store answer (thousands per query), so no closures here.
  const dropEmpty = options.emptyLabelIsAbsent === true;
  const labels: Partial<Record<GroupKey, string | null>> = {};
  for (const key of GROUP_KEYS) {
    const v = row[key];
    if (v !== null && v !== undefined && !(dropEmpty && v === '')) labels[key] = typeof v === 'string' ? v : String(v);
  }
  return {
    bucket: Number(row['bucket']),
    labels,
    sum: Number(row['v_sum'] ?? 0),
    min: numberOrNull(row['v_min']),
    max: numberOrNull(row['v_max']),
    minutes: numberOrNull(row['minutes']),
    samples: Number(row['samples'] ?? 0),
  };
}

function numberOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}
