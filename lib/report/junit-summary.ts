import { readFile } from 'node:fs/promises';
import { XMLParser } from 'fast-xml-parser';

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', htmlEntities: true, isArray: (name) => ['testsuite', 'testcase'].includes(name) });

interface TestCase {
  name?: string;
  time?: string;
  classname?: string;
  failure?: unknown;
  error?: unknown;
  skipped?: unknown;
}
interface Suite {
  testcase?: TestCase[];
}

/** Counts the test cases of one JUnit XML file: failed (failure/error), skipped, passed. */
export async function countJunit(file: string): Promise<Counts> {
  const doc = parser.parse(await readFile(file, 'utf8')) as { testsuites?: { testsuite?: Suite[] }; testsuite?: Suite[] };
  const suites = doc.testsuites?.testsuite ?? doc.testsuite ?? [];
  const counts: Counts = { passed: 0, failed: 0, skipped: 0 };
  for (const tc of suites.flatMap((s) => s.testcase ?? [])) {
    if (tc.failure !== undefined || tc.error !== undefined) counts.failed++;
    else if (tc.skipped !== undefined) counts.skipped++;
    else counts.passed++;
  }
  return counts;
}

/** The plain closing line CI reads: `N passed, N failed` plus `, N skipped` when any were not run. */
export function summaryLine(c: Counts): string {
  return `${c.passed} passed, ${c.failed} failed${c.skipped > 0 ? `, ${c.skipped} skipped` : ''}`;
}

export interface FailedCase {
  name: string;
  /** First line of the failure message. */
  message: string;
}

const firstLine = (v: unknown): string => {
  const o = (Array.isArray(v) ? v[0] : v) as { message?: string; '#text'?: string } | string | undefined;
  const text = typeof o === 'string' ? o : (o?.message ?? o?.['#text'] ?? '');
  return String(text).trim().split('\n')[0] ?? '';
};

/** The failed cases of one JUnit file, with the first line of why: what CI's log tail must show. */
export async function failedCases(file: string): Promise<FailedCase[]> {
  return (await listCases(file, '')).filter((c) => c.status === 'failed').map((c) => ({ name: c.name, message: c.message ?? '' }));
}

export interface CaseResult {
  suite: string;
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  seconds: number;
  /** Why it failed or was skipped (first line). */
  message?: string;
}

/** Every test case of one JUnit file with its status and duration: the JSON summary's test list. */
export async function listCases(file: string, suite: string): Promise<CaseResult[]> {
  const doc = parser.parse(await readFile(file, 'utf8')) as { testsuites?: { testsuite?: Suite[] }; testsuite?: Suite[] };
  const suites = doc.testsuites?.testsuite ?? doc.testsuite ?? [];
  return suites.flatMap((s) => s.testcase ?? []).map((tc) => {
    const bad = tc.failure ?? tc.error;
    const status = bad !== undefined ? 'failed' : tc.skipped !== undefined ? 'skipped' : 'passed';
    const message = bad !== undefined ? firstLine(bad) : tc.skipped !== undefined ? firstLine(tc.skipped) || undefined : undefined;
    return { suite, name: `${tc.classname ?? ''} ${tc.name ?? ''}`.trim(), status, seconds: Number(tc.time ?? 0), ...(message ? { message } : {}) };
  });
}
