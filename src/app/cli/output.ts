/** Prints rows as aligned columns; `-` for empty cells. */
export function printTable(rows: readonly Record<string, unknown>[], columns: readonly string[], out: (line: string) => void = console.log): void {
  const cell = (v: unknown) => (v === undefined || v === null || v === '' ? '-' : Array.isArray(v) ? v.join(',') : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]))).join('  ');
  out(line(columns.map((c) => c.toUpperCase())));
  for (const row of rows) out(line(columns.map((c) => cell(row[c]))));
}

/** Thrown for a usage mistake the parser cannot see (exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
