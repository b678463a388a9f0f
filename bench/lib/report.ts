/** What a scenario hands back: figures, the target and whether this run met it. */
export interface ScenarioReport {
  readonly id: number;
  readonly title: string;
  readonly target: string;
  readonly met: boolean;
  /** Ordered figure name -> printed value. */
  readonly figures: ReadonlyArray<readonly [string, string]>;
  readonly notes: readonly string[];
}

export interface ScenarioOptions {
  /** Seconds of load per measured round (scenarios pick sensible defaults). */
  readonly roundS: number;
  /** Scenario 5's soak length in seconds (default 1200: half warm-up, half judged). */
  readonly soakS: number;
  /** Where bench data and results live (git-ignored). */
  readonly dir: string;
}

export function markdown(report: ScenarioReport): string {
  const rows = report.figures.map(([k, v]) => `| ${k} | ${v} |`).join('\n');
  const notes = report.notes.map((n) => `- ${n}`).join('\n');
  return `### ${report.id}. ${report.title}\n\nTarget: ${report.target} — **${report.met ? 'met' : 'missed'}**\n\n| figure | value |\n|---|---|\n${rows}\n${notes ? `\n${notes}\n` : ''}`;
}
