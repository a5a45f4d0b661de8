import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { attr, readJunit, type Node } from './junit-xml.js';

// `make test SHARD=i/n`: a deterministic, balanced share of the suites' spec
// files for shard i of n, each shard against its own lab. A unit is one spec
// file of a lab-backed suite. Units are balanced by their durations in the last
// report when there is one (longest first, each to the least loaded shard), by
// count otherwise. What does not split: the suites that need no lab (unit,
// images) run in shard 1 only; what checks each shard's own lab (the leftover
// audit, the after-lab-down checks) runs in every shard, and the merge
// (lib/report/shard-merge.ts) keeps such a test once.

export interface Shard {
  index: number;
  total: number;
}

/** "i/n" with 1 <= i <= n; undefined for anything else. */
export function parseShard(value: string): Shard | undefined {
  const m = /^(\d+)\/(\d+)$/.exec(value);
  if (!m) return undefined;
  const [index, total] = [Number(m[1]), Number(m[2])];
  return index >= 1 && total >= 1 && index <= total ? { index, total } : undefined;
}

/** Files every shard runs: they check the shard's own lab. */
export const PER_LAB_FILES = ['test/audit/leftover-audit.test.ts'];

/**
 * The spec files of a suite, as its `.mocharc.json` lists them, relative to
 * `root`, sorted. The suites' patterns are `dir/**\/*.suffix` or a plain file;
 * anything else is refused rather than guessed.
 */
export function suiteSpecFiles(root: string, suite: string): string[] {
  const rc = JSON.parse(readFileSync(path.join(root, 'test', suite, '.mocharc.json'), 'utf8')) as { spec: string[] };
  const files = rc.spec.flatMap((pattern) => {
    const m = /^([^*]+)\/\*\*\/\*(\.[\w.]+)$/.exec(pattern);
    if (m) {
      const [dir, suffix] = [m[1] as string, m[2] as string];
      return (readdirSync(path.join(root, dir), { recursive: true }) as string[]).filter((f) => f.endsWith(suffix)).map((f) => path.join(dir, f));
    }
    if (pattern.includes('*')) throw new Error(`test/${suite}/.mocharc.json: spec pattern ${pattern} is neither dir/**/*.suffix nor a file`);
    return [pattern];
  });
  return [...new Set(files)].sort();
}

/**
 * A report's spec file path, relative to `root`. A report made in another
 * checkout (CI's, a clone in /tmp) names its files under that checkout: they are
 * taken from their last `test/` folder on, or no file of it would ever match.
 */
function specPath(root: string, specFile: string): string {
  const file = path.relative(root, path.resolve(root, specFile));
  if (!file.startsWith('..')) return file;
  const at = specFile.lastIndexOf('/test/');
  return at >= 0 ? specFile.slice(at + 1) : file;
}

/**
 * Seconds per spec file in the JUnit files of a report folder: the sum of the
 * test times of every `<testsuite file=...>` (mocha-junit-reporter names the
 * file of each describe block). Paths relative to `root`.
 */
export function durationsByFile(reportDir: string, root: string): Map<string, number> {
  const out = new Map<string, number>();
  if (!existsSync(reportDir)) return out;
  for (const f of readdirSync(reportDir).filter((n) => n.endsWith('.xml'))) {
    for (const s of readJunit(path.join(reportDir, f)).testsuites?.testsuite ?? []) {
      const specFile = s[`${attr}file`] as string | undefined;
      if (!specFile) continue;
      const file = specPath(root, specFile);
      const seconds = (s.testcase ?? []).reduce((sum: number, tc: Node) => sum + Number(tc[`${attr}time`] ?? 0), 0);
      out.set(file, (out.get(file) ?? 0) + seconds);
    }
  }
  return out;
}

/**
 * Which shard (1..total) runs each unit. Longest first, each to the shard with
 * the least seconds so far (the lowest index on a tie): the same units and
 * durations always give the same plan. A unit with no known duration weighs the
 * median of the known ones (1 s when none is known, which balances by count).
 */
export function assignUnits(units: string[], total: number, durations: Map<string, number>): Map<string, number> {
  const known = units.map((u) => durations.get(u)).filter((d): d is number => d !== undefined).sort((a, b) => a - b);
  const fallback = known.length > 0 ? (known[Math.floor(known.length / 2)] as number) : 1;
  const weight = (u: string) => durations.get(u) ?? fallback;
  const load = Array.from({ length: total }, () => 0);
  const plan = new Map<string, number>();
  for (const u of [...units].sort((a, b) => weight(b) - weight(a) || a.localeCompare(b))) {
    const i = load.indexOf(Math.min(...load));
    load[i] = (load[i] as number) + weight(u);
    plan.set(u, i + 1);
  }
  return plan;
}

/** Each lab-backed suite's spec files in shard order: which shard runs each (the per-lab files run in all). */
export interface ShardPlan {
  /** Shard (1..total) of each split file. */
  shardOf: Map<string, number>;
  /** Seconds each shard is expected to take, from the durations used. */
  loads: number[];
}

/** One plan over the files of all `suites` together, so the shards' total times are balanced, not each suite's. */
export function planShards(root: string, suites: string[], total: number, durations: Map<string, number>): ShardPlan {
  const files = suites.flatMap((s) => suiteSpecFiles(root, s)).filter((f) => !PER_LAB_FILES.includes(f));
  const shardOf = assignUnits([...new Set(files)], total, durations);
  const loads = Array.from({ length: total }, (_, i) => [...shardOf].filter(([, s]) => s === i + 1).reduce((sum, [f]) => sum + (durations.get(f) ?? 0), 0));
  return { shardOf, loads };
}

/** The files of `suite` shard `index` leaves out (Mocha's `--ignore`); undefined when it runs none of the suite's own files. */
export function filesToIgnore(root: string, suite: string, index: number, plan: ShardPlan): string[] | undefined {
  const own = suiteSpecFiles(root, suite).filter((f) => !PER_LAB_FILES.includes(f));
  const ignore = own.filter((f) => plan.shardOf.get(f) !== index);
  return ignore.length === own.length ? undefined : ignore;
}

/**
 * What a shard planned, written to its report folder as `shard.json`: the merge
 * refuses shards that did not plan alike. Shards that plan from different
 * `latest` reports can each leave a file to the other (run by none) or both take
 * it (run twice); only the whole plan, compared, shows it.
 */
export interface ShardRecord {
  index: number;
  total: number;
  /** Where the durations came from: the report folder and a digest of what was read, or "by file" without one. */
  plannedFrom: string;
  /** Shard (1..total) of each split file. */
  shardOf: Record<string, number>;
}

export const SHARD_RECORD = 'shard.json';

/** The record of shard `shard` of `plan`, made from `durations` read in `from` (a report folder, or undefined). */
export function shardRecord(shard: Shard, plan: ShardPlan, durations: Map<string, number>, from: string | undefined): ShardRecord {
  const digest = createHash('sha256').update(JSON.stringify([...durations].sort(([a], [b]) => a.localeCompare(b)))).digest('hex').slice(0, 12);
  return {
    index: shard.index,
    total: shard.total,
    plannedFrom: durations.size > 0 && from ? `${from} (durations ${digest})` : 'by file',
    shardOf: Object.fromEntries([...plan.shardOf].sort(([a], [b]) => a.localeCompare(b))),
  };
}

/** The shard record in a report folder, or undefined when it has none (not a shard's report). */
export function readShardRecord(dir: string): ShardRecord | undefined {
  const f = path.join(dir, SHARD_RECORD);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as ShardRecord) : undefined;
}

/**
 * Why the shards' report folders do not make one whole run, or undefined when
 * they do: each has a record, all of the same total, every index 1..total
 * exactly once, and all with the same plan.
 */
export function shardsDisagree(dirs: string[]): string | undefined {
  const records = dirs.map((d) => ({ dir: d, record: readShardRecord(d) }));
  const bare = records.find((r) => !r.record);
  if (bare) return `${bare.dir} has no ${SHARD_RECORD}: it is not a shard's report (make test SHARD=i/n writes one)`;
  const rs = records.map((r) => ({ dir: r.dir, ...(r.record as ShardRecord) }));
  const first = rs[0];
  if (!first) return 'no shard report folders given';
  const otherTotal = rs.find((r) => r.total !== first.total);
  if (otherTotal) return `${first.dir} is a shard of ${first.total}, ${otherTotal.dir} of ${otherTotal.total}: not the shards of one run`;
  for (let i = 1; i <= first.total; i++) {
    const of = rs.filter((r) => r.index === i);
    if (of.length === 0) return `shard ${i}/${first.total} is missing: merging without it would not give a whole run's totals`;
    if (of.length > 1) return `shard ${i}/${first.total} is given twice (${of.map((r) => r.dir).join(', ')})`;
  }
  const plan = JSON.stringify(first.shardOf);
  const other = rs.find((r) => JSON.stringify(r.shardOf) !== plan);
  if (other) {
    const files = [...new Set([...Object.keys(first.shardOf), ...Object.keys(other.shardOf)])].sort();
    const moved = files.find((f) => first.shardOf[f] !== other.shardOf[f]) as string;
    return (
      `the shards planned differently: shard ${first.index} planned ${first.plannedFrom}, shard ${other.index} ${other.plannedFrom}; ` +
      `${moved} is in shard ${first.shardOf[moved] ?? 'none'} by one and ${other.shardOf[moved] ?? 'none'} by the other ` +
      `(every shard of a run must plan from the same report: REPORT_DIR per shard, and the same artifacts/reports/latest)`
    );
  }
  return undefined;
}
