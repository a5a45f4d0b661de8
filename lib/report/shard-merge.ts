import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { merge } from 'mochawesome-merge';
import marge from 'mochawesome-report-generator';
import { countJunit, type Counts } from './junit-summary.js';
import { failed, nameOf, readJunit, rootOver, skipped, writeJunit, type Node, type Suite } from './junit-xml.js';
import type { DefectRecord } from './known-defects.js';
import { filterSuite, type MaSuite } from './rerun-merge.js';
import { shardsDisagree } from './shard.js';

// `make report-merge`: the report folders of the shards of one run (make test
// SHARD=i/n, lib/report/shard.ts) merged into one that reads as a single run's:
// per suite one JUnit file, one mochawesome JSON and HTML page, the known-defect
// records, the measurements, and the counts. A test several shards ran (the
// per-lab checks: the leftover audit, the after-lab-down checks) is kept once,
// with the worst result any shard gave it, so the totals equal an unsharded run's.

/** failed > passed > skipped: a per-lab check that failed in one shard failed. */
const rank = (tc: Node) => (failed(tc) ? 2 : skipped(tc) ? 0 : 1);

/** One suite's JUnit from the shards' files of it: each test once, in first-seen order, with its worst result. */
export function mergeSuiteJunit(files: string[], out: string): void {
  const kept = new Map<string, Node>();
  const suites: Suite[] = [];
  let base: Node | undefined;
  for (const f of files) {
    const doc = readJunit(f);
    base ??= doc.testsuites;
    for (const s of doc.testsuites?.testsuite ?? []) {
      const cases: Node[] = [];
      for (const tc of s.testcase ?? []) {
        const seen = kept.get(nameOf(tc));
        if (!seen) {
          kept.set(nameOf(tc), tc);
          cases.push(tc);
        } else if (rank(tc) > rank(seen)) {
          // Worse here than where it was first seen: take this result, in the first place.
          for (const k of Object.keys(seen)) delete seen[k];
          Object.assign(seen, tc);
        }
      }
      if (cases.length > 0) suites.push({ ...s, testcase: cases });
    }
  }
  writeJunit(out, rootOver(base, suites));
}

function titles(s: MaSuite): string[] {
  return [...s.tests.map((t) => t.fullTitle), ...s.suites.flatMap(titles)];
}

/** One suite's mochawesome JSON and HTML page: each shard's, without the tests an earlier shard already reported. */
async function mergeSuiteHtml(files: string[], outDir: string, name: string): Promise<void> {
  const seen = new Set<string>();
  const tmp: string[] = [];
  try {
    for (const [i, f] of files.entries()) {
      const doc = JSON.parse(await readFile(f, 'utf8')) as { results: MaSuite[] };
      doc.results = doc.results.map((r) => filterSuite(r, (t) => !seen.has(t.fullTitle), false));
      for (const r of doc.results) for (const t of titles(r)) seen.add(t);
      const file = path.join(outDir, `${name}.shard-${i}.tmp.json`);
      await writeFile(file, JSON.stringify(doc));
      tmp.push(file);
    }
    const report = await merge({ files: tmp });
    await writeFile(path.join(outDir, `${name}.json`), JSON.stringify(report, null, 2));
    await marge.create(report, { reportDir: outDir, reportFilename: name, inline: true, charts: false, code: false, saveJson: false });
  } finally {
    for (const f of tmp) await rm(f, { force: true });
  }
}

export interface MergedRun {
  counts: Counts;
  perSuite: Record<string, Counts>;
}

/**
 * Merges the shards' report folders into `out`: per suite JUnit, JSON and HTML,
 * the known-defect records, measurements, and `summary.json` with the counts.
 */
export async function mergeShardReports(dirs: string[], out: string): Promise<MergedRun> {
  for (const d of dirs) if (!existsSync(d)) throw new Error(`no report folder ${d}`);
  // Only the shards of one plan add up to a whole run: refused before anything is written.
  const disagree = shardsDisagree(dirs);
  if (disagree) throw new Error(`cannot merge: ${disagree}`);
  await mkdir(out, { recursive: true });
  const suiteNames = [...new Set((await Promise.all(dirs.map((d) => readdir(d)))).flat().filter((f) => f.endsWith('.xml')).map((f) => f.slice(0, -'.xml'.length)))].sort();
  const perSuite: Record<string, Counts> = {};
  const counts: Counts = { passed: 0, failed: 0, skipped: 0 };
  for (const name of suiteNames) {
    const junits = dirs.map((d) => path.join(d, `${name}.xml`)).filter((f) => existsSync(f));
    mergeSuiteJunit(junits, path.join(out, `${name}.xml`));
    const jsons = dirs.map((d) => path.join(d, `${name}.json`)).filter((f) => existsSync(f));
    if (jsons.length > 0) await mergeSuiteHtml(jsons, out, name);
    const c = await countJunit(path.join(out, `${name}.xml`));
    perSuite[name] = c;
    counts.passed += c.passed;
    counts.failed += c.failed;
    counts.skipped += c.skipped;
  }
  // Known defects: each test once (a known-defect test runs in one shard only).
  const bySuite = new Map<string, DefectRecord[]>();
  for (const d of dirs) {
    for (const f of (await readdir(d)).filter((f) => f.endsWith('.known-defects.json'))) {
      const list = bySuite.get(f) ?? [];
      const mine = JSON.parse(await readFile(path.join(d, f), 'utf8')) as DefectRecord[];
      list.push(...mine.filter((r) => !list.some((x) => x.test === r.test)));
      bySuite.set(f, list);
    }
  }
  for (const [f, list] of bySuite) await writeFile(path.join(out, f), `${JSON.stringify(list, null, 2)}\n`);
  // Measurements: every shard's values, per name.
  const measurements: Record<string, number[]> = {};
  for (const d of dirs) {
    const f = path.join(d, 'measurements.json');
    if (!existsSync(f)) continue;
    for (const [k, v] of Object.entries(JSON.parse(await readFile(f, 'utf8')) as Record<string, number[]>)) (measurements[k] ??= []).push(...v);
  }
  if (Object.keys(measurements).length > 0) await writeFile(path.join(out, 'measurements.json'), `${JSON.stringify(measurements, null, 2)}\n`);
  const shards = await Promise.all(
    dirs.map(async (d) => {
      const f = path.join(d, 'summary.json');
      return { dir: d, summary: existsSync(f) ? (JSON.parse(await readFile(f, 'utf8')) as { counts?: Counts; phases?: Record<string, number> }) : undefined };
    }),
  );
  await writeFile(
    path.join(out, 'summary.json'),
    `${JSON.stringify({ mergedFrom: shards.map((s) => ({ dir: s.dir, counts: s.summary?.counts, phases: s.summary?.phases })), counts, perSuite, knownDefects: [...bySuite.values()].flat() }, null, 2)}\n`,
  );
  return { counts, perSuite };
}
