import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { merge } from 'mochawesome-merge';
import { attr, nameOf, readJunit, rootOver, writeJunit, type Node } from './junit-xml.js';

// A suite whose lab host died is run again on a new lab host, without the tests
// that had already finished (see lib/suites.ts). Its report must then read as
// one run: the finished tests from the first attempt, the rest from the second,
// each test once, and the test that was running when the lab host died marked
// with that event. This module merges the two attempts' JUnit XML, mochawesome
// JSON and known-defect records.

/** What happened to the infrastructure during a test: carried into every report of that test. */
export interface InfraEvent {
  suite: string;
  /** The full title of the test that was running. */
  test: string;
  why: string;
  /** The lab host kernel's complaints, from its serial console. */
  console: string[];
  /** How long replacing the lab host took (s), and the outcome of the test's run on the new one. */
  replacedInS?: number;
  rerun?: 'passed' | 'failed' | 'skipped' | 'not run';
}

/** One line for the terminal and the JUnit property. */
export function eventLine(e: InfraEvent): string {
  const rerun = e.rerun ? `; re-run on the new lab host: ${e.rerun}` : '';
  const replaced = e.replacedInS !== undefined ? `; replaced in ${e.replacedInS} s` : '';
  return `lab host died during "${e.test}": ${e.why}${replaced}${rerun}`;
}

const HOOK = /"(before|after) (each|all)" hook/;


/**
 * The tests of the first attempt whose result stands: every test that finished
 * (passed, skipped or failed on its own) before the lab host died. Not kept:
 * the test that was running then, and hook entries (a dead lab host fails the
 * next test's root hook, which then stands for every test not run).
 */
export async function finishedTests(junitFile: string, diedTest: string): Promise<string[]> {
  const doc = readJunit(junitFile);
  return (doc.testsuites?.testsuite ?? [])
    .flatMap((s) => s.testcase ?? [])
    .map(nameOf)
    .filter((n) => n !== diedTest && !HOOK.test(n));
}

/** A `--grep` pattern that matches exactly these full titles (used with `--invert`: everything else). */
export function exactTitles(titles: string[]): string {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return `^(?:${titles.map(esc).join('|')})$`;
}

/** One attempt's report files, and the tests to take from it (all when `keep` is undefined). */
export interface AttemptPart {
  junit: string;
  mochawesome: string;
  defects: string;
  keep?: string[];
}

/**
 * The JUnit file of the whole suite: from each attempt the tests it keeps, in
 * order; the test each event names gets a property `infrastructure-event`.
 */
export async function mergeJunit(parts: AttemptPart[], out: string, events: InfraEvent[]): Promise<void> {
  const docs = parts.map((p) => ({ doc: existsSync(p.junit) ? readJunit(p.junit) : {}, keep: p.keep && new Set(p.keep) }));
  const suites = docs
    .flatMap(({ doc, keep }) => (doc.testsuites?.testsuite ?? []).map((s) => ({ ...s, testcase: (s.testcase ?? []).filter((tc) => !keep || keep.has(nameOf(tc))) })))
    .filter((s) => s.testcase.length > 0);
  for (const s of suites) {
    for (const tc of s.testcase) {
      const mine = events.filter((e) => e.test === nameOf(tc));
      if (mine.length === 0) continue;
      const props = ((tc.properties as Node | undefined)?.property as Node[] | undefined) ?? [];
      tc.properties = { property: [...props, ...mine.map((e) => ({ [`${attr}name`]: 'infrastructure-event', [`${attr}value`]: eventLine(e) }))] };
    }
  }
  writeJunit(out, rootOver(docs[0]?.doc.testsuites, suites));
}

export interface MaTest {
  fullTitle: string;
  /** passed, failed, pending; none for a test that `--grep` left out of the attempt. */
  state?: string | null;
  uuid: string;
  context?: string | null;
  isHook?: boolean;
}
export interface MaSuite {
  tests: MaTest[];
  beforeHooks: MaTest[];
  afterHooks: MaTest[];
  suites: MaSuite[];
  passes: string[];
  failures: string[];
  pending: string[];
  skipped: string[];
}

/** The suite with only the tests `keep` takes (and their ids in its lists); its hooks too unless `dropHooks`. */
export function filterSuite(s: MaSuite, keep: (t: MaTest) => boolean, dropHooks: boolean): MaSuite {
  const tests = s.tests.filter(keep);
  const ids = new Set(tests.map((t) => t.uuid));
  const only = (list: string[]) => list.filter((id) => ids.has(id));
  // An attempt that a death ended: its hooks failed because the lab host had died, which the event tells.
  const hooks = (list: MaTest[]) => (dropHooks ? [] : list);
  return {
    ...s,
    tests,
    beforeHooks: hooks(s.beforeHooks ?? []),
    afterHooks: hooks(s.afterHooks ?? []),
    suites: s.suites.map((c) => filterSuite(c, keep, dropHooks)),
    passes: only(s.passes),
    failures: only(s.failures),
    pending: only(s.pending),
    skipped: only(s.skipped),
  };
}

function markEvents(s: MaSuite, events: InfraEvent[]): void {
  for (const t of s.tests) {
    const mine = events.filter((e) => e.test === t.fullTitle);
    if (mine.length === 0) continue;
    const before = t.context ? (JSON.parse(t.context) as unknown) : [];
    const list = Array.isArray(before) ? before : [before];
    t.context = JSON.stringify([...list, ...mine.map((e) => ({ title: 'infrastructure event', value: eventLine(e) }))]);
  }
  for (const c of s.suites) markEvents(c, events);
}

/** The mochawesome JSON of the whole suite (the HTML report's source), merged like the JUnit. */
export async function mergeMochawesome(parts: AttemptPart[], out: string, events: InfraEvent[]): Promise<void> {
  const tmp: string[] = [];
  for (const [i, p] of parts.entries()) {
    if (!existsSync(p.mochawesome)) continue;
    const keep = p.keep && new Set(p.keep);
    const doc = JSON.parse(await readFile(p.mochawesome, 'utf8')) as { results: MaSuite[] };
    // mochawesome lists the tests `--grep` left out too, with no state: they are not of this attempt.
    doc.results = doc.results.map((r) => filterSuite(r, (t) => Boolean(t.state) && (!keep || (!t.isHook && keep.has(t.fullTitle))), Boolean(keep)));
    for (const r of doc.results) markEvents(r, events);
    const file = `${out}.part-${i}.tmp`;
    await writeFile(file, JSON.stringify(doc));
    tmp.push(file);
  }
  try {
    if (tmp.length > 0) await writeFile(out, JSON.stringify(await merge({ files: tmp }), null, 2));
  } finally {
    for (const f of tmp) await rm(f, { force: true });
  }
}

/** Known-defect records: from each attempt those of the tests it keeps. */
export async function mergeDefects(parts: AttemptPart[], out: string): Promise<void> {
  const records: { test: string }[] = [];
  for (const p of parts) {
    if (!existsSync(p.defects)) continue;
    const keep = p.keep && new Set(p.keep);
    records.push(...(JSON.parse(await readFile(p.defects, 'utf8')) as { test: string }[]).filter((r) => !keep || keep.has(r.test)));
  }
  if (records.length > 0) await writeFile(out, `${JSON.stringify(records, null, 2)}\n`);
}
