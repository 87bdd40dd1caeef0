/** Figures, their ceilings and goals, printed as a table and as JSON. */

/** What a figure must reach; a figure with several goals passes only when it meets all of them. */
export type Goal =
  | { readonly kind: 'atLeast'; readonly value: number }
  | { readonly kind: 'atMost'; readonly value: number }
  /** figure / ceiling ≥ value (throughputs). */
  | { readonly kind: 'ratioAtLeast'; readonly value: number }
  /** figure / ceiling ≤ value (latencies). */
  | { readonly kind: 'ratioAtMost'; readonly value: number };

export interface Figure {
  /** `publish`, `consume`, `latency`, `http`, `orders`. */
  readonly section: string;
  readonly name: string;
  readonly unit: string;
  /** Undefined when the figure could not be measured (a server did not start, a run failed); `note` says why. */
  readonly value: number | undefined;
  /** The ceiling measured in the same run, and what it is. */
  readonly ceiling?: number;
  readonly ceilingName?: string;
  readonly goals?: readonly Goal[];
  readonly note?: string;
}

export type Verdict = 'PASS' | 'MISS' | 'n/a' | '';

export function ratioOf(figure: Figure): number | undefined {
  return figure.value !== undefined && figure.ceiling !== undefined && figure.ceiling > 0 ? figure.value / figure.ceiling : undefined;
}

function meets(figure: Figure, goal: Goal): boolean | undefined {
  const ratio = ratioOf(figure);
  if (figure.value === undefined) return undefined;
  switch (goal.kind) {
    case 'atLeast':
      return figure.value >= goal.value;
    case 'atMost':
      return figure.value <= goal.value;
    case 'ratioAtLeast':
      return ratio === undefined ? undefined : ratio >= goal.value;
    case 'ratioAtMost':
      return ratio === undefined ? undefined : ratio <= goal.value;
  }
}

export function verdictOf(figure: Figure): Verdict {
  if (figure.value === undefined) return 'n/a';
  if (!figure.goals || figure.goals.length === 0) return '';
  const results = figure.goals.map((goal) => meets(figure, goal));
  if (results.some((r) => r === false)) return 'MISS';
  if (results.some((r) => r === undefined)) return 'n/a';
  return 'PASS';
}

/** 123456 → "123 456"; small values keep decimals. */
export function formatNumber(value: number | undefined, unit = ''): string {
  if (value === undefined || Number.isNaN(value)) return '—';
  const digits = unit === 'ms' ? (value < 10 ? 3 : 1) : value >= 100 ? 0 : value >= 10 ? 1 : 2;
  const [whole, fraction] = value.toFixed(digits).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

function formatGoal(goal: Goal, unit: string): string {
  switch (goal.kind) {
    case 'atLeast':
      return `≥ ${formatNumber(goal.value)} ${unit}`;
    case 'atMost':
      return `≤ ${formatNumber(goal.value)} ${unit}`;
    case 'ratioAtLeast':
      return `≥ ${goal.value}× ceiling`;
    case 'ratioAtMost':
      return `≤ ${goal.value}× ceiling`;
  }
}

/** The results table: one line per figure, its ceiling beside it, the ratio, the goal and the verdict. */
export function formatTable(figures: readonly Figure[]): string {
  const header = ['section', 'figure', 'value', 'ceiling', 'ratio', 'goal', 'result'];
  const rows = figures.map((f) => {
    const ratio = ratioOf(f);
    return [
      f.section,
      f.name,
      f.value === undefined ? '—' : `${formatNumber(f.value, f.unit)} ${f.unit}`,
      f.ceiling === undefined ? '' : `${formatNumber(f.ceiling, f.unit)} (${f.ceilingName ?? 'raw'})`,
      ratio === undefined ? '' : `${ratio.toFixed(2)}×`,
      (f.goals ?? []).map((g) => formatGoal(g, f.unit)).join(' and '),
      verdictOf(f),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 2 || i === 3 || i === 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [line(header), widths.map((w) => '─'.repeat(w)).join('  ')];
  let section = '';
  for (const [i, row] of rows.entries()) {
    if (figures[i].section !== section && section !== '') out.push('');
    section = figures[i].section;
    out.push(line(row));
  }
  const notes = figures.filter((f) => f.note).map((f) => `  ${f.section} / ${f.name}: ${f.note}`);
  if (notes.length > 0) out.push('', 'notes:', ...notes);
  return out.join('\n');
}

export interface Summary {
  readonly engine: string;
  readonly quick: boolean;
  readonly startedAt: string;
  readonly durationS: number;
  readonly machine: {
    readonly cpus: number;
    readonly cpu: string;
    readonly node: string;
    readonly platform: string;
    /** 1-minute load average when the run started and ended: other work on the machine skews every figure. */
    readonly load: readonly [number, number];
  };
  readonly eventBytes: number;
  readonly figures: readonly (Figure & { readonly ratio?: number; readonly result: Verdict })[];
}

export function summaryOf(base: Omit<Summary, 'figures'>, figures: readonly Figure[]): Summary {
  return { ...base, figures: figures.map((f) => ({ ...f, ratio: ratioOf(f), result: verdictOf(f) })) };
}
