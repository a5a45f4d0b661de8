import { readFileSync, writeFileSync } from 'node:fs';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';

// JUnit XML as the report tools rewrite it (recovery re-runs, test marks, shard
// merges): parsed with attributes kept (`@_name`), CDATA kept, and the same
// elements always arrays, then written back in the same shape.

export const attr = '@_';
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: attr, cdataPropName: '__cdata', isArray: (n) => ['testsuite', 'testcase', 'property'].includes(n) });
const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: attr, cdataPropName: '__cdata', format: true, suppressEmptyNode: true });

export type Node = Record<string, unknown>;
export type Suite = Node & { testcase?: Node[] };
export interface JunitDoc {
  testsuites?: Node & { testsuite?: Suite[] };
}

export const parseJunit = (xml: string): JunitDoc => parser.parse(xml) as JunitDoc;
export const readJunit = (file: string): JunitDoc => parseJunit(readFileSync(file, 'utf8'));
export const buildJunit = (doc: JunitDoc | Node): string => xmlSafe(builder.build(doc) as string);

/**
 * Text XML 1.0 can hold: terminal colour sequences (VMSnap's and virtnbdbackup's
 * logs reach test messages and marks) removed, any other character XML forbids
 * (C0 controls but tab and newlines, lone surrogates, U+FFFE/FFFF) written as
 * `\xNN` text. The builder escapes markup, not these: a strict parser, and the
 * JUnit readers of CI services, reject a file that holds one.
 */
export function xmlSafe(text: string): string {
  // Control characters are the point of these two expressions.
  /* eslint-disable no-control-regex */
  return text
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  /* eslint-enable no-control-regex */
}

/** A whole JUnit file: the declaration, then `<testsuites>` with `root`'s attributes and suites. */
export function writeJunit(file: string, root: Node): void {
  writeFileSync(file, buildJunit({ '?xml': { [`${attr}version`]: '1.0', [`${attr}encoding`]: 'UTF-8' }, testsuites: root }));
}

export const nameOf = (tc: Node): string => String(tc[`${attr}name`] ?? '');
export const failed = (tc: Node): boolean => tc.failure !== undefined || tc.error !== undefined;
export const skipped = (tc: Node): boolean => !failed(tc) && tc.skipped !== undefined;
export const casesOf = (doc: JunitDoc): Node[] => (doc.testsuites?.testsuite ?? []).flatMap((s) => s.testcase ?? []);

/** A suite's tests/failures/skipped attributes from its test cases. */
export function recount(s: Suite): void {
  const cases = s.testcase ?? [];
  s[`${attr}tests`] = String(cases.length);
  s[`${attr}failures`] = String(cases.filter(failed).length);
  s[`${attr}skipped`] = String(cases.filter(skipped).length);
}

/** `<testsuites>`'s attributes over `suites` (after recounting each), keeping `base`'s others. */
export function rootOver(base: Node | undefined, suites: Suite[]): Node {
  for (const s of suites) recount(s);
  const all = suites.flatMap((s) => s.testcase ?? []);
  return {
    ...(base ?? {}),
    [`${attr}tests`]: String(all.length),
    [`${attr}failures`]: String(all.filter(failed).length),
    [`${attr}skipped`]: String(all.filter(skipped).length),
    testsuite: suites,
  };
}
