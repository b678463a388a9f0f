/**
 * How many of a bounded resource each key (a caller or a token) holds. A key
 * is forgotten when its count returns to zero, so the map is as large as the
 * set of current holders, not of every caller ever seen.
 */
export class ShareCounter {
  private readonly counts = new Map<string, number>();

  of(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  add(key: string): void {
    this.counts.set(key, this.of(key) + 1);
  }

  remove(key: string): void {
    const left = this.of(key) - 1;
    if (left > 0) this.counts.set(key, left);
    else this.counts.delete(key);
  }
}
