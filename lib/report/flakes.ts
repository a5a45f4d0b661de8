import type { CaseResult } from './junit-summary.js';

export interface FlakeReport {
  runs: number;
  /** Tests that ran (passed or failed) in at least one run. */
  tests: number;
  /** A test that failed in one run and passed in the next: the definition of a flake. */
  flaky: { name: string; outcomes: string }[];
  /** Ran in two or more runs and failed in each: a real failure, not a flake. */
  alwaysFailing: string[];
  /**
   * Failed at least once and never passed in a run right after: neither a flake
   * nor a steady failure (passed, then failed in the last run, or failed and was
   * not run again, as when a lab host dies). Shown so no failure goes unreported.
   */
  failedOther: { name: string; outcomes: string }[];
  /** Flaky tests / tests, 0..1. */
  rate: number;
}

const key = (c: CaseResult) => `${c.suite}: ${c.name}`;

/**
 * Flakes over consecutive runs of the same suites. Skipped (not run) results do
 * not count either way. `outcomes` reads like `PFP` (passed, failed, passed;
 * `-` when not run), so a report shows where each flake happened.
 */
export function flakeReport(runs: CaseResult[][]): FlakeReport {
  const names = [...new Set(runs.flatMap((r) => r.map(key)))].sort();
  const byRun = runs.map((r) => new Map(r.map((c) => [key(c), c.status])));
  const flaky: FlakeReport['flaky'] = [];
  const alwaysFailing: string[] = [];
  const failedOther: FlakeReport['failedOther'] = [];
  let tests = 0;
  for (const name of names) {
    const statuses = byRun.map((m) => m.get(name) ?? 'skipped');
    const ran = statuses.filter((s) => s !== 'skipped');
    if (ran.length === 0) continue;
    tests++;
    const flaked = statuses.some((s, i) => s === 'failed' && statuses[i + 1] === 'passed');
    const outcomes = statuses.map((s) => (s === 'passed' ? 'P' : s === 'failed' ? 'F' : '-')).join('');
    if (flaked) flaky.push({ name, outcomes });
    // One failure is not "every run": a hook's failure only shows up in the run where it failed.
    else if (ran.length > 1 && ran.every((s) => s === 'failed')) alwaysFailing.push(name);
    else if (ran.includes('failed')) failedOther.push({ name, outcomes });
  }
  return { runs: runs.length, tests, flaky, alwaysFailing, failedOther, rate: tests === 0 ? 0 : flaky.length / tests };
}
