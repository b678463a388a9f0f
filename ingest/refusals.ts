/** Distinct reasons kept by name; more are counted under one "other" line, so a request cannot grow the message without bound. */
const MAX_REASONS = 20;

/**
 * The points refused from one request, counted by reason: what
 * `partial_success` reports (`rejected_data_points` and `error_message`).
 */
export class Refusals {
  private readonly reasons = new Map<string, number>();
  private others = 0;
  private count = 0;

  add(reason: string, points = 1): void {
    if (points <= 0) return;
    this.count += points;
    const known = this.reasons.get(reason);
    if (known !== undefined) this.reasons.set(reason, known + points);
    else if (this.reasons.size < MAX_REASONS) this.reasons.set(reason, points);
    else this.others += points;
  }

  get total(): number {
    return this.count;
  }

  /** One line for error_message: every reason with its count, the most frequent first; empty when none. */
  message(): string {
    if (this.count === 0) return '';
    const parts = [...this.reasons].sort((a, b) => b[1] - a[1]).map(([reason, n]) => `${reason} (${n})`);
    if (this.others > 0) parts.push(`other reasons (${this.others})`);
    return `${this.count} data point${this.count === 1 ? '' : 's'} refused: ${parts.join('; ')}.`;
  }
}
