import { GROUP_KEYS, type GroupKey } from '../catalog/catalog.ts';
import { alignDown } from '../planner/interval.ts';
import { fixedLabels } from '../planner/rules.ts';
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
      branches.push({
        id: `b${branches.length}`,
        sample: first,
        interval: { start: first.interval.start, end: last.interval.end },
        pieces: run,
      });
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

/**
 * Whether a rollup branch's stored rows are already its answer's rows: the
 * bucket is the rollup's own, and the cluster and every label of the level
 * are grouped or fixed by an equality, so each group and bucket has one
 * stored row. The store then reads the rows as they are, without a GROUP BY
 * (DuckDB's hash aggregate was most of a 30-day hourly read). Always correct
 * either way: the merge combines rows of one group and bucket.
 */
export function storedRowsAreBuckets(branch: Branch): boolean {
  const p = branch.sample;
  if (p.source === 'raw' || p.bucketMs !== p.rollupBucketMs) return false;
  const covered = fixedLabels(p.groupBy, p.filter);
  return covered.has('resource_id') && (p.level ?? []).every((label) => covered.has(label));
}

/** Gives each piece of a branch the rows whose bucket falls in it; every piece gets a list, maybe empty. */
export function distribute(branch: Branch, rows: readonly PartialRow[], into: Map<string, PartialRow[]>): void {
  const slots = branch.pieces.map((p) => ({ from: alignDown(p.interval.start, p.bucketMs), to: p.interval.end, rows: [] as PartialRow[] }));
  for (const row of rows) {
    const slot = slots[slotOf(slots, row.bucket)];
    if (slot && row.bucket >= slot.from && row.bucket < slot.to) slot.rows.push(row);
  }
  for (const [i, p] of branch.pieces.entries()) into.set(p.key, slots[i]?.rows ?? []);
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
export function distributeRows(
  branches: readonly Branch[],
  rows: readonly Record<string, unknown>[],
  options: RowOptions = {},
): Map<string, PartialRow[]> {
  const byBranch = new Map<string, PartialRow[]>();
  const labels = new LabelInterner(options);
  for (const row of rows) {
    const id = String(row['branch']);
    const list = byBranch.get(id) ?? [];
    list.push(partialRowOf(row, labels));
    byBranch.set(id, list);
  }
  return spread(branches, byBranch);
}

/**
 * The same from a columnar answer (DuckDB's, whose rows name their branch by
 * index): no row object is built per row, and runs of one branch are looked
 * up once.
 */
export function distributeColumns(
  branches: readonly Branch[],
  columns: Readonly<Record<string, readonly unknown[]>>,
): Map<string, PartialRow[]> {
  const byBranch = new Map<string, PartialRow[]>();
  const labels = new LabelInterner({});
  const branch = columns['branch'] ?? [];
  const [bucket, sum, min, max, minutes, samples] = ['bucket', 'v_sum', 'v_min', 'v_max', 'minutes', 'samples'].map(
    (c) => columns[c] ?? [],
  );
  const labelColumns = GROUP_KEYS.map((key) => columns[key]);
  let lastId: unknown;
  let list: PartialRow[] = [];
  for (let i = 0; i < branch.length; i++) {
    if (branch[i] !== lastId) {
      lastId = branch[i];
      const id = branches[Number(lastId)]?.id ?? '';
      list = byBranch.get(id) ?? [];
      byBranch.set(id, list);
    }
    list.push({
      bucket: Number(bucket?.[i]),
      labels: labels.ofColumns(labelColumns, i),
      sum: Number(sum?.[i] ?? 0),
      min: numberOrNull(min?.[i]),
      max: numberOrNull(max?.[i]),
      minutes: numberOrNull(minutes?.[i]),
      samples: Number(samples?.[i] ?? 0),
    });
  }
  return spread(branches, byBranch);
}

function spread(branches: readonly Branch[], byBranch: Map<string, PartialRow[]>): Map<string, PartialRow[]> {
  const result = new Map<string, PartialRow[]>();
  for (const branch of branches) distribute(branch, byBranch.get(branch.id) ?? [], result);
  return result;
}

export interface RowOptions {
  /** Druid 27 (default-value null handling) returns null labels as '': treat '' as absent too. */
  readonly emptyLabelIsAbsent?: boolean;
}

type Labels = PartialRow['labels'];

/**
 * One labels object per distinct label tuple of an answer, shared by its rows
 * (4,320 rows of a 30-day hourly answer by topic have 6): building one per
 * row was most of the cost of turning store rows into partial states.
 * Shared objects are safe because nothing writes to a row's labels.
 */
class LabelInterner {
  private readonly known = new Map<string, Labels>();
  private readonly dropEmpty: boolean;
  /** The current row's label values, by GROUP_KEYS index: reused, so a row allocates only its key. */
  private readonly values: unknown[] = new Array<unknown>(GROUP_KEYS.length);

  constructor(options: RowOptions) {
    this.dropEmpty = options.emptyLabelIsAbsent === true;
  }

  ofRow(row: Record<string, unknown>): Labels {
    for (let k = 0; k < GROUP_KEYS.length; k++) this.values[k] = row[GROUP_KEYS[k] ?? ''];
    return this.current();
  }

  ofColumns(columns: readonly (readonly unknown[] | undefined)[], i: number): Labels {
    for (let k = 0; k < GROUP_KEYS.length; k++) this.values[k] = columns[k]?.[i];
    return this.current();
  }

  /** The tuple's key names each present label by its index, so no two tuples share one. */
  private current(): Labels {
    let key = '';
    for (let k = 0; k < GROUP_KEYS.length; k++) {
      const v = this.values[k];
      if (this.present(v)) key += `${k}\u0000${String(v)}\u0001`;
    }
    let labels = this.known.get(key);
    if (!labels) {
      const built: Partial<Record<GroupKey, string>> = {};
      for (let k = 0; k < GROUP_KEYS.length; k++) {
        const v = this.values[k];
        const name = GROUP_KEYS[k];
        if (name && this.present(v)) built[name] = typeof v === 'string' ? v : String(v);
      }
      labels = built;
      this.known.set(key, labels);
    }
    return labels;
  }

  private present(v: unknown): boolean {
    return v !== null && v !== undefined && !(this.dropEmpty && v === '');
  }
}

/** A store row (columns bucket, the group keys, v_sum, v_min, v_max, minutes, samples) as a partial state. */
function partialRowOf(row: Record<string, unknown>, labels: LabelInterner): PartialRow {
  return {
    bucket: Number(row['bucket']),
    labels: labels.ofRow(row),
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
