import { existsSync, statSync } from 'node:fs';
import addContext from 'mochawesome/addContext.js';
import { markJunitFile, type MarkName, type TestMark } from '../../lib/report/test-marks.js';
import { suiteJunitFile } from './report-env.js';

// `markTest`: what a run learns about a test (a known defect it reproduced, why
// it could not run) goes into the test's JUnit properties and its HTML context,
// never into its title, which stays the same in every run (lib/report/test-marks.ts).

const marks: TestMark[] = [];

// After the JUnit reporter wrote its file on Mocha's 'end' (synchronously); exit handlers must be synchronous too.
process.on('exit', () => {
  // No report to mark: a run cut short before the reporter wrote it, or MOCHA_FILE=/dev/null.
  if (!existsSync(suiteJunitFile) || !statSync(suiteJunitFile).isFile()) return;
  const unmatched = markJunitFile(suiteJunitFile, marks);
  if (unmatched.length === 0) return;
  console.error(`report: ${unmatched.length} test mark(s) found no test in ${suiteJunitFile}: ${unmatched.map((m) => `"${m.test}"`).join(', ')}`);
  // A harness bug: the run fails, unless it already ends with its own code (an interrupt's 130).
  if (!process.exitCode) process.exitCode = 1;
});

/** Marks the running test; with `skipped`, the reason its JUnit `<skipped>` gives. */
export function markTest(ctx: Mocha.Context, name: MarkName, value: string, skipped?: string): void {
  const test = ctx.test as Mocha.Test;
  marks.push({ test: test.fullTitle(), name, value, ...(skipped ? { skipped } : {}) });
  addContext(ctx, { title: name, value });
}

/**
 * Marks the running test as not run, with the reason in its `not-run` property
 * and its skipped message (its title stays the same): a test that cannot run
 * says why, and is never counted as passed.
 */
export function notRun(ctx: Mocha.Context, reason: string): never {
  markTest(ctx, 'not-run', reason, `not run: ${reason}`);
  console.log(`      NOT RUN: ${reason}`);
  ctx.skip();
}
