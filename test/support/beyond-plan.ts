import { getLabConfig } from '../../lib/config.js';
import type { KnownDefect } from '../../lib/report/known-defects.js';
import { itKnownDefect } from './known-defect.js';

// The VMSnap tests beyond the seed plan (more exit codes, odd domain names,
// period folders, pruning day by day, status forms...). With VMSNAP_TESTS=core
// they are registered but not run: Mocha reports them pending (JUnit
// <skipped>), and `make test` says how many and why. The plan's own tests and
// the restore checks always run.

const core = getLabConfig().vmsnapTests === 'core';

/** Why a test beyond the plan did not run; printed by the suite and by `make test`. */
export const BEYOND_PLAN_NOT_RUN = 'VMSNAP_TESTS=core: beyond the seed plan, not run (VMSNAP_TESTS=all runs it)';

/** `it` for a test beyond the plan. */
export function itBeyondPlan(title: string, fn: (this: Mocha.Context) => Promise<void>): Mocha.Test {
  return core ? it.skip(title, fn) : it(title, fn);
}

/** `describe` for a group of tests beyond the plan: with `core`, its hooks do not run either. */
export function describeBeyondPlan(title: string, fn: (this: Mocha.Suite) => void): Mocha.Suite | void {
  return core ? describe.skip(title, fn) : describe(title, fn);
}

/** `itKnownDefect` for a test beyond the plan. */
export function itKnownDefectBeyondPlan(title: string, defect: KnownDefect, fn: (this: Mocha.Context) => Promise<void>): Mocha.Test {
  return core ? it.skip(title, fn) : itKnownDefect(title, defect, fn);
}
