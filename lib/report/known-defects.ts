import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A defect of the system under test that a test reproduces. The test keeps
 * asserting the documented behaviour; while it fails *with this signature* it is
 * reported as a known failure (never as passed), and when it passes the test
 * fails, recorded "now passing", until the mark is removed (strict, like
 * pytest's xfail(strict=True)).
 */
export interface KnownDefect {
  id: string;
  summary: string;
  /** Where it is reported. */
  link: string;
  /** The failure this defect explains; any other failure of the test is a real failure. */
  signature: RegExp;
}

export type DefectOutcome = 'known failure' | 'now passing';

export interface DefectRecord {
  test: string;
  defect: string;
  link: string;
  outcome: DefectOutcome;
  /** First line of the assertion that failed (known failures). */
  error?: string;
}

/** The sidecar file a suite writes next to its JUnit file. */
export function defectsFileFor(junitFile: string): string {
  return junitFile.replace(/\.xml$/, '') + '.known-defects.json';
}

/** Every defect record of every suite in a report folder. */
export function readDefectRecords(reportDir: string): DefectRecord[] {
  if (!existsSync(reportDir)) return [];
  return readdirSync(reportDir)
    .filter((f) => f.endsWith('.known-defects.json'))
    .sort()
    .flatMap((f) => JSON.parse(readFileSync(path.join(reportDir, f), 'utf8')) as DefectRecord[]);
}

/** Lines for the terminal summary: what the skipped count holds, and what to unmark. */
export function defectSummaryLines(records: DefectRecord[]): string[] {
  const lines: string[] = [];
  const known = records.filter((r) => r.outcome === 'known failure');
  const fixed = records.filter((r) => r.outcome === 'now passing');
  if (known.length > 0) {
    lines.push(`known VMSnap defects (ran, failed as expected; counted as skipped): ${known.length}`);
    for (const r of known) lines.push(`  KNOWN FAILURE  ${r.test}  [${r.defect}: ${r.link}]`);
  }
  for (const r of fixed) lines.push(`  NOW PASSING    ${r.test}  [${r.defect} no longer reproduces, so the test FAILED: VMSnap changed; read the change, remove the mark]`);
  return lines;
}
