import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { attr, buildJunit, casesOf, nameOf, parseJunit, type Node } from './junit-xml.js';

// What a run learns about a test beyond its result (it reproduced known defect
// VMSNAP-3; it could not run here, and why) goes into JUnit properties of that
// test, never into its name: flake tracking and the recovery re-run pair tests
// across runs by their full title, so a title must be the same in every run.

export type MarkName = 'known-defect' | 'not-run';

export interface TestMark {
  /** The test's full title, as Mocha gives it and the JUnit `name` holds it. */
  test: string;
  name: MarkName;
  value: string;
  /** For a test reported skipped: the reason, as the `<skipped message>` JUnit tools show. */
  skipped?: string;
}

/** `tc`'s attributes, then `<properties>`, then its other children: the order the JUnit schema gives a testcase. */
function propertiesFirst(tc: Node): void {
  const entries = Object.entries(tc);
  for (const k of Object.keys(tc)) delete tc[k];
  Object.assign(
    tc,
    Object.fromEntries(entries.filter(([k]) => k.startsWith(attr))),
    Object.fromEntries(entries.filter(([k]) => k === 'properties')),
    Object.fromEntries(entries.filter(([k]) => !k.startsWith(attr) && k !== 'properties')),
  );
}

/**
 * The JUnit XML with each mark as a `<property>` of its test (and the skipped
 * reason); tests it does not name are unchanged. `unmatched`: marks whose test
 * the report does not hold (a harness bug the caller must report).
 */
export function markJunit(xml: string, marks: TestMark[]): { xml: string; unmatched: TestMark[] } {
  const doc = parseJunit(xml);
  const unmatched = new Set(marks);
  for (const tc of casesOf(doc)) {
    const mine = marks.filter((m) => m.test === nameOf(tc));
    if (mine.length === 0) continue;
    for (const m of mine) unmatched.delete(m);
    const props = ((tc.properties as Node | undefined)?.property as Node[] | undefined) ?? [];
    tc.properties = { property: [...props, ...mine.map((m) => ({ [`${attr}name`]: m.name, [`${attr}value`]: m.value }))] };
    const reason = mine.find((m) => m.skipped)?.skipped;
    // mocha-junit-reporter writes a bare `<skipped/>`: the reason goes into its message.
    if (reason && tc.skipped !== undefined) tc.skipped = { [`${attr}message`]: reason };
    propertiesFirst(tc);
  }
  return { xml: buildJunit(doc), unmatched: [...unmatched] };
}

/**
 * Marks a JUnit file in place. Synchronous: it runs in the test process's exit
 * handler, after the reporter wrote the file. Returns the marks it could not place.
 */
export function markJunitFile(file: string, marks: TestMark[]): TestMark[] {
  if (marks.length === 0) return [];
  if (!existsSync(file)) return marks;
  const { xml, unmatched } = markJunit(readFileSync(file, 'utf8'), marks);
  writeFileSync(file, xml);
  return unmatched;
}

/** The marks of one test as JUnit properties list them, for readers of a report. */
export function marksOf(xml: string, test: string): { name: string; value: string }[] {
  const tc = casesOf(parseJunit(xml)).find((c) => nameOf(c) === test);
  const props = ((tc?.properties as Node | undefined)?.property as Node[] | undefined) ?? [];
  return props.map((p) => ({ name: String(p[`${attr}name`]), value: String(p[`${attr}value`]) }));
}
