export interface Stats {
  n: number;
  min: number;
  median: number;
  max: number;
}

/** min/median/max of some samples (the median of an even count is the mean of the middle two). */
export function stats(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new Error('no samples');
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  const round = (v: number) => Math.round(v * 10) / 10;
  return { n: s.length, min: round(s[0] as number), median: round(median), max: round(s[s.length - 1] as number) };
}

/** The short terminal table: one row per phase, in the order measured. */
export function statsTable(rows: { name: string; unit: string; stats: Stats }[]): string {
  const width = Math.max(5, ...rows.map((r) => r.name.length));
  const num = (v: number) => String(v).padStart(8);
  const lines = [`${'phase'.padEnd(width)}  ${'n'.padStart(2)} ${'min'.padStart(8)} ${'median'.padStart(8)} ${'max'.padStart(8)}  unit`];
  for (const r of rows) lines.push(`${r.name.padEnd(width)}  ${String(r.stats.n).padStart(2)} ${num(r.stats.min)} ${num(r.stats.median)} ${num(r.stats.max)}  ${r.unit}`);
  return lines.join('\n');
}

/** One phase of a `make bench` result file (artifacts/bench/<date>.json). */
export interface BenchRow {
  name: string;
  unit: string;
  stats: Stats;
}

const cell = (r: BenchRow | undefined) => (r ? `${r.stats.median} ${r.unit} (${r.stats.min}–${r.stats.max}, n=${r.stats.n})` : '—');

/**
 * Two bench results side by side, as a Markdown table: each phase's median
 * (min–max, n) before and after, and after/before of the medians. Phases in
 * only one of them get a dash, never a guessed value; the order is the
 * before run's, then what only the after run measured.
 */
export function compareTable(before: BenchRow[], after: BenchRow[]): string {
  const names = [...new Set([...before.map((r) => r.name), ...after.map((r) => r.name)])];
  const lines = ['| phase | before: median (min–max, n) | after: median (min–max, n) | after / before |', '|---|---|---|---|'];
  for (const name of names) {
    const [b, a] = [before.find((r) => r.name === name), after.find((r) => r.name === name)];
    const ratio = a && b && a.unit === b.unit && b.stats.median > 0 ? `${(a.stats.median / b.stats.median).toFixed(2)}x` : '—';
    lines.push(`| ${name} | ${cell(b)} | ${cell(a)} | ${ratio} |`);
  }
  return lines.join('\n');
}

/**
 * The median of the first phase named `ours…` over the median of the first
 * named `theirs…` (matched by the start of the name, which goes on with the
 * suites or the test count), or undefined unless one run measured both.
 */
export function medianRatio(rows: BenchRow[], ours: string, theirs: string): { ours: number; theirs: number; ratio: number } | undefined {
  const a = rows.find((r) => r.name.startsWith(ours));
  const b = rows.find((r) => r.name.startsWith(theirs));
  if (!a || !b || a.unit !== b.unit || b.stats.median <= 0) return undefined;
  return { ours: a.stats.median, theirs: b.stats.median, ratio: Math.round((a.stats.median / b.stats.median) * 100) / 100 };
}
